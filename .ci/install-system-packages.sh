#!/usr/bin/env bash
# Debian packages that some tests use beyond Python: Graphviz (mlp graph --out
# x.png), GNU parallel and a single-node Slurm (slurm-wlm, munge) for the
# cluster recipes of `mlp sweep`. The tests that need one skip, naming it,
# where it is missing.
# Idempotent: installs only what is missing, and only where apt-get is usable
# (root on Debian or Ubuntu); anywhere else it says so and exits 0.
set -uo pipefail

PACKAGES=(
  graphviz
  parallel
  slurm-wlm
  munge
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all installed (${PACKAGES[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "system packages: cannot install ${missing[*]} (needs apt-get as root); their tests will skip"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "system packages: apt-get failed; their tests will skip"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
