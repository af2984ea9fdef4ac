#!/usr/bin/env bash
# Run once by the postgres image's entrypoint when it creates the primary's data
# directory (/docker-entrypoint-initdb.d): a replication role, the replica's slot, and
# a pg_hba line that lets the replica stream (the image's own line, `host all all all`,
# matches no replication connection).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica');
SQL

cat >>"$PGDATA/pg_hba.conf" <<'HBA'
host replication replicator all scram-sha-256
HBA
