#!/usr/bin/env bash
# The replica of compose.yaml: on first start, clones the primary with pg_basebackup
# (streaming WAL, through the slot `replica`, writing standby.signal and the connection
# settings with -R), then runs PostgreSQL as a hot standby. PGPASSWORD is the
# replication role's password.
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${PRIMARY_HOST:=postgres-primary}"
: "${PRIMARY_PORT:=5432}"

if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    until pg_isready --host "${PRIMARY_HOST}" --port "${PRIMARY_PORT}" --quiet; do
        sleep 1
    done
    rm -rf "${PGDATA:?}"/*
    pg_basebackup --host "${PRIMARY_HOST}" --port "${PRIMARY_PORT}" --username replicator \
        --pgdata "${PGDATA}" --wal-method stream --slot replica --write-recovery-conf \
        --checkpoint fast --no-password
    chmod 0700 "${PGDATA}"
fi

exec postgres -D "${PGDATA}" -c hot_standby=on "$@"
