#!/usr/bin/env bash
# Run by `npm test` first (the `pretest` script): installs the Debian packages the suite needs when
# they are missing, so the README's test command passes on a bare machine. promtool (package
# prometheus) checks /metrics; chromium runs the browser end-to-end test; redis-server backs the
# shared store's tests (quotas and usage across replicas). Needs root, or sudo
# without a password; otherwise it says what to install and fails, rather than let tests fail later.
set -uo pipefail

chromium="${WEAVER_CHROMIUM:-/usr/bin/chromium}"
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
[ -x "$chromium" ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "npm test: installing the Debian packages the suite needs: ${missing[*]}"
if [ "$EUID" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo)
else
  as_root=(unavailable)
fi
if ! command -v apt-get >/dev/null || [ "${as_root[0]:-}" = unavailable ]; then
  echo "npm test: cannot install them here (apt-get as root is needed); install them, then run npm test again:" >&2
  echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q || exit 1
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
