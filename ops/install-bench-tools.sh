#!/usr/bin/env bash
# Installs the external load generator used by `just bench*`: Debian's `wrk` (closed-loop
# saturation throughput). Fixed-rate latency runs use bench/loadgen.py (open loop, no
# coordinated omission), because Debian ships no wrk2. Idempotent.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    echo "wrk already installed: $(wrk --version 2>&1 | head -n 1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
else
    SUDO=""
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" update
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" install -y --no-install-recommends wrk
command -v wrk >/dev/null 2>&1 || { echo "wrk still missing after install" >&2; exit 1; }
echo "installed: $(wrk --version 2>&1 | head -n 1)"
