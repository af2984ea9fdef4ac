#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis if they are down and creates the app database.
# Idempotent; used by `just run`, `just test` and .ci/run.
set -euo pipefail

# The database `just run` uses: the one AVATARADAM_DATABASE_URL names when it points at
# this machine's PostgreSQL (127.0.0.1/localhost, port 5432), else AVATARADAM_LOCAL_DB.
url_db=$(python3 - <<'PY'
import os
from urllib.parse import unquote, urlsplit

url = os.environ.get("AVATARADAM_DATABASE_URL", "")
try:
    parts = urlsplit(url)
    local = parts.hostname in (None, "127.0.0.1", "localhost", "::1") and parts.port in (None, 5432)
    name = unquote(parts.path.lstrip("/"))
except ValueError:
    local, name = False, ""
if url and local and name and "," not in parts.netloc:
    print(name)
PY
)
db_name="${url_db:-${AVATARADAM_LOCAL_DB:-avataradam}}"
case "$db_name" in *\"*) echo "unsupported database name: $db_name" >&2; exit 2 ;; esac

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "starting PostgreSQL" >&2
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='${db_name}'" postgres | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE \"${db_name}\"" postgres >/dev/null
fi
