#!/usr/bin/env bash
# Debian packages the tests use beyond Python: GNU parallel, and a single-node
# Slurm (slurm-wlm, munge) for the cluster recipes of `mlp sweep`.
# Idempotent: installs only what is missing. Where apt-get cannot run (not
# Debian, not root, no network) it says so and exits 0: the tests that need a
# package then skip, naming it.
set -uo pipefail

PACKAGES=(
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
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "system packages: cannot install ${missing[*]} (needs apt-get as root); their tests will skip"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/mlpcli-apt.log 2>&1; then
  echo "system packages: apt-get failed (log: /tmp/mlpcli-apt.log); their tests will skip"
  tail -n 5 /tmp/mlpcli-apt.log
fi
exit 0
