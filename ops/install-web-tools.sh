#!/usr/bin/env bash
# Installs what the web client needs on this machine, from Debian's packages, when missing:
# Node.js and npm (to build web/ with Vite) and Chromium (the browser the E2E tests drive
# through the Python `playwright` package's `executable_path`; `playwright install`, which
# downloads a browser, is never used). Quick no-op when all three are on PATH.
set -euo pipefail

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
else
    SUDO=""
fi
here="$(dirname "${BASH_SOURCE[0]}")"
$SUDO bash "$here/apt-get.sh" update
$SUDO bash "$here/apt-get.sh" install -y --no-install-recommends "${missing[@]}"
for cmd in node npm chromium; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd still missing after install" >&2; exit 1; }
done
echo "installed: ${missing[*]}"
