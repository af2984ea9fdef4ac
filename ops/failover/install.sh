#!/usr/bin/env bash
# Installs Debian's pg_auto_failover for the machine's PostgreSQL major version when it is
# missing (idempotent): `pg_autoctl` (pg-auto-failover-cli) and the monitor's extension
# (postgresql-<major>-auto-failover). Only the packages: no cluster or service is made or
# enabled here; ops/failover/formation.sh runs its own monitor and nodes on spare ports.
set -euo pipefail

major="${AVATARADAM_FAILOVER_PG_VERSION:-$(ls /usr/lib/postgresql | grep -E '^[0-9]+$' | sort -n | tail -n 1)}"
[ -n "$major" ] || { echo "no PostgreSQL server under /usr/lib/postgresql" >&2; exit 1; }
ctl="$(command -v pg_autoctl || echo /usr/bin/pg_autoctl)"
extension="/usr/share/postgresql/$major/extension/pgautofailover.control"

if [ -x "$ctl" ] && [ -f "$extension" ]; then
    echo "pg_auto_failover already installed: $("$ctl" version | head -n 1)"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(pg-auto-failover-cli "postgresql-$major-auto-failover")
if ! apt-cache show "${packages[@]}" >/dev/null 2>&1; then
    $SUDO bash "$(dirname "${BASH_SOURCE[0]}")/../apt-get.sh" update
fi
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/../apt-get.sh" install -y --no-install-recommends "${packages[@]}"
[ -x "$ctl" ] || { echo "pg_autoctl still missing after install ($ctl)" >&2; exit 1; }
echo "installed: $("$ctl" version 2>&1 | head -n 1)"
