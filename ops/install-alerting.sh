#!/usr/bin/env bash
# Installs what the alert drill runs (idempotent; `just setup-alerting`, run by `just test`
# for its one-alert trial and by `just drill-alerts`), all from Debian's packages:
#
#   prometheus                    the server (and promtool, for the imported history)
#   prometheus-alertmanager       routes the drill's alerts to its webhook receiver
#   prometheus-postgres-exporter  `pg_up` of the read replica (AvatarAdamReplicaDown)
#
# Their packaged services are not started: each drill stack runs its own processes on
# free ports. Nothing here is on `just run`'s path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v prometheus-postgres-exporter >/dev/null 2>&1 || missing+=(prometheus-postgres-exporter)
if ((${#missing[@]})); then
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        ${SUDO} bash "${ROOT}/ops/apt-get.sh" update
    fi
    ${SUDO} bash "${ROOT}/ops/apt-get.sh" install -y --no-install-recommends "${missing[@]}"
    # A systemd host starts packaged services: the drill needs none of them.
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        ${SUDO} systemctl disable --now prometheus prometheus-alertmanager \
            prometheus-postgres-exporter >/dev/null 2>&1 || true
    fi
fi
echo "alert drill tools: $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f1-3)," \
    "$(prometheus-alertmanager --version 2>&1 | head -n 1 | cut -d' ' -f1-3)," \
    "$(prometheus-postgres-exporter --version 2>&1 | head -n 1 | cut -d' ' -f1-3)"
