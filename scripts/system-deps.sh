#!/usr/bin/env bash
# Install the Debian packages the tests use, when missing. Needs root (apt-get); otherwise prints what to install.
set -euo pipefail
# command → Debian package
declare -A NEED=(
  [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [espeak-ng]=espeak-ng
  [sox]=sox
  [ffmpeg]=ffmpeg
  [chromium]=chromium
  [java]=default-jre-headless
)
missing=()
for cmd in "${!NEED[@]}"; do
  if [[ "$cmd" == /* ]]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
  fi
done
# MP3 and other formats for sox.
dpkg-query -W -f='${Status}' libsox-fmt-all 2>/dev/null | grep -q "ok installed" || missing+=(libsox-fmt-all)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all present"
  exit 0
fi
echo "system-deps: missing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
