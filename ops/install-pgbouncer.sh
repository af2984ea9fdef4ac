#!/usr/bin/env bash
# Installs Debian's `pgbouncer` when it is not on PATH (idempotent). Used by
# tests/contract (tests/contract/conftest.py runs the repository contract suite through
# PgBouncer in transaction mode). The packaged service is not enabled or used:
# the tests start their own pgbouncer with its own config, port and directory.
set -euo pipefail

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
    echo "pgbouncer already installed: $( (command -v pgbouncer || echo /usr/sbin/pgbouncer) )"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
else
    SUDO=""
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when the candidate is unknown.
if ! apt-cache show pgbouncer >/dev/null 2>&1; then
    $SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" update
fi
$SUDO bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" install -y --no-install-recommends pgbouncer
[ -x /usr/sbin/pgbouncer ] || { echo "pgbouncer still missing after install" >&2; exit 1; }
echo "installed: $(/usr/sbin/pgbouncer --version | head -n 1)"
