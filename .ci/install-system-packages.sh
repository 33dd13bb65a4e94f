#!/usr/bin/env bash
# Debian packages that some tests use (they skip cleanly without them).
# Idempotent: installs only what is missing, and only where apt-get is usable
# (root on Debian or Ubuntu); anywhere else it says so and does nothing.
set -uo pipefail

# One line per package: the command it provides, then the Debian package.
PACKAGES="
dot graphviz
"

missing=()
while read -r command package; do
  [ -n "${command:-}" ] || continue
  command -v "$command" >/dev/null 2>&1 || missing+=("$package")
done <<<"$PACKAGES"

[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "install-system-packages: not installing ${missing[*]} (needs apt-get as root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "install-system-packages: installed ${missing[*]}" >&2
else
  cat "$log" >&2
  echo "install-system-packages: could not install ${missing[*]}; their tests will skip" >&2
fi
rm -f "$log"
exit 0
