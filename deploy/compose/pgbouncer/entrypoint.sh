#!/bin/sh
# Writes PgBouncer's user list from POSTGRES_PASSWORD (kept out of the image and of
# the repository), then runs PgBouncer in the foreground.
set -eu
umask 077
printf '"avataradam" "%s"\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > /tmp/userlist.txt
exec /usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini
