#!/usr/bin/env bash
# Installs promtool (from Debian's `prometheus` package) when it is not on PATH.
# Used by CI and developers before `tests/unit/test_observability_deploy.py`, which
# runs `promtool check rules` / `promtool test rules` on deploy/prometheus/.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    echo "promtool already installed: $(promtool --version 2>&1 | head -n 1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
else
    SUDO=""
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" update
# The package also ships the Prometheus server unit; it is not started (policy-rc.d-free
# containers have no init, and on systemd hosts we only need the promtool binary).
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" install -y --no-install-recommends prometheus
command -v promtool >/dev/null 2>&1 || { echo "promtool still missing after install" >&2; exit 1; }
echo "installed: $(promtool --version 2>&1 | head -n 1)"
