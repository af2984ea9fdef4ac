#!/usr/bin/env bash
# A pg_auto_failover formation on this machine: a monitor and two PostgreSQL nodes
# (node_1, node_2) with synchronous replication, each run by its own `pg_autoctl run`
# keeper on a spare port, everything under one directory (a tmp path by default). The
# machine's own cluster (5432) is never touched. Installs pg_auto_failover from Debian
# when it is missing (ops/failover/install.sh).
#
#   formation.sh up          create what is missing, start every keeper, wait until one
#                            node is primary and the other a synchronous secondary
#   formation.sh start NAME  start one keeper (monitor, node_1 or node_2) if it is not running
#   formation.sh wait        wait until one node is primary and the other secondary
#   formation.sh state       the monitor's view: node, port, reported and goal state
#   formation.sh uri [ATTRS] the application's multi-host URL over both nodes, with
#                            target_session_attrs=ATTRS (read-write by default)
#   formation.sh down        stop every keeper and its PostgreSQL, delete the directory
#
# Environment: AVATARADAM_FAILOVER_DIR (default /tmp/avataradam-failover),
# AVATARADAM_FAILOVER_PORTS ("<monitor> <node_1> <node_2>", default "6440 6441 6442";
# remembered in the directory by `up`), AVATARADAM_FAILOVER_DATABASE (default avataradam).
# Run as root (the keepers then run as the postgres user) or as the user who owns them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${AVATARADAM_FAILOVER_DIR:-/tmp/avataradam-failover}"
database="${AVATARADAM_FAILOVER_DATABASE:-avataradam}"
major="${AVATARADAM_FAILOVER_PG_VERSION:-$(ls /usr/lib/postgresql | grep -E '^[0-9]+$' | sort -n | tail -n 1)}"
bindir="/usr/lib/postgresql/$major/bin"
nodes=(node_1 node_2)

# Failure detection and promotion (pg_auto_failover's documented settings; defaults in
# brackets). The monitor declares the primary unhealthy when its keeper has not reported
# for node_considered_unhealthy_timeout *and* the monitor's own health check failed
# (checked every period, retried max_retries times, retry_delay apart, each connection
# attempt bounded by timeout). The standby is then promoted read-only at once, and opened
# to writes primary_demote_timeout later: the time a primary cut off from the monitor and
# the standby takes to stop itself (the keeper's network_partition_timeout, seconds, which
# must stay below it), so two primaries never take writes at once.
monitor_settings="
pgautofailover.health_check_period = 1000          # ms [5000]
pgautofailover.health_check_timeout = 1000         # ms [5000]
pgautofailover.health_check_max_retries = 1        # [2]
pgautofailover.health_check_retry_delay = 500      # ms [2000]
pgautofailover.node_considered_unhealthy_timeout = 5000  # ms [20000]
pgautofailover.primary_demote_timeout = 6000       # ms [30000]
"
network_partition_timeout=3  # s [20]

# pg_autoctl sizes memory for a dedicated server (shared_buffers = a quarter of RAM);
# three instances share this machine with everything else.
small_instance="
shared_buffers = '32MB'
work_mem = '4MB'
maintenance_work_mem = '64MB'
effective_cache_size = '512MB'
wal_keep_size = '256MB'
max_connections = 100
"

die() { echo "formation.sh: $*" >&2; exit 1; }

ports() {
    local saved="$dir/ports"
    if [ -f "$saved" ]; then cat "$saved"; else echo "${AVATARADAM_FAILOVER_PORTS:-6440 6441 6442}"; fi
}
read -r monitor_port node_1_port node_2_port <<<"$(ports)"
port_of() { case "$1" in monitor) echo "$monitor_port" ;; node_1) echo "$node_1_port" ;; node_2) echo "$node_2_port" ;; *) die "unknown member $1" ;; esac; }
monitor_uri="postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"

# The prefix that runs pg_autoctl as the owner of the formation, with its configuration
# and state files kept inside the formation's directory (not in the postgres user's home).
# Every word execs the next, so a command started with it in the background has $! = its pid.
owner=()
[ "$(id -u)" -ne 0 ] || owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
owner+=(env HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/config" XDG_DATA_HOME="$dir/home/data"
    XDG_RUNTIME_DIR="$dir/run" PATH="$bindir:/usr/bin:/bin" PG_CONFIG="$bindir/pg_config")
as_owner() { "${owner[@]}" "$@"; }

monitor_sql() {
    psql "postgresql://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?connect_timeout=3" \
        -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

keeper_pid() {
    local pid
    pid="$(cat "$dir/pids/$1.pid" 2>/dev/null)" || return 1
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "pg_autoctl run" || return 1
    echo "$pid"
}

# `pg_autoctl run` in a session of its own (its pid is the group id: one signal reaches
# the keeper, its services and PostgreSQL), appending to logs/NAME.log.
start() {
    local name="$1"
    [ -d "$dir/$name" ] || die "$name has not been created (formation.sh up)"
    if keeper_pid "$name" >/dev/null; then return 0; fi
    "${owner[@]}" setsid pg_autoctl run --pgdata "$dir/$name" \
        >>"$dir/logs/$name.log" 2>&1 </dev/null &
    echo "$!" >"$dir/pids/$name.pid"
}

wait_for() {  # wait_for SECONDS DESCRIPTION SQL-returning-t
    local deadline=$((SECONDS + $1))
    until [ "$(monitor_sql "$3" 2>/dev/null || true)" = "t" ]; do
        [ "$SECONDS" -lt "$deadline" ] || { state >&2 || true; die "timed out waiting for $2"; }
        sleep 0.2
    done
}

# Appended after pg_autoctl's own include, so that these settings win.
include_settings() {
    local pgdata="$1" settings="$2"
    printf '%s\n' "$settings" >"$pgdata/avataradam-failover.conf"
    grep -q "^include 'avataradam-failover.conf'" "$pgdata/postgresql.conf" ||
        echo "include 'avataradam-failover.conf'" >>"$pgdata/postgresql.conf"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$pgdata/avataradam-failover.conf"
}

create_monitor() {
    [ -d "$dir/monitor" ] && return 0
    as_owner pg_autoctl create monitor --pgdata "$dir/monitor" --pgport "$monitor_port" \
        --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl \
        >>"$dir/logs/monitor.log" 2>&1 || { tail -n 30 "$dir/logs/monitor.log" >&2; die "monitor not created"; }
    include_settings "$dir/monitor" "$small_instance$monitor_settings"
}

create_node() {
    local name="$1"
    [ -d "$dir/$name" ] && return 0
    as_owner pg_autoctl create postgres --pgdata "$dir/$name" --pgport "$(port_of "$name")" \
        --hostname 127.0.0.1 --listen 127.0.0.1 --name "$name" --dbname "$database" \
        --monitor "$monitor_uri" --auth trust --no-ssl \
        >>"$dir/logs/$name.log" 2>&1 || { tail -n 30 "$dir/logs/$name.log" >&2; die "$name not created"; }
    as_owner pg_autoctl config set --pgdata "$dir/$name" \
        timeout.network_partition_timeout "$network_partition_timeout" >/dev/null
    include_settings "$dir/$name" "$small_instance"
}

primary_and_secondary="SELECT count(*) FILTER (WHERE reportedstate = 'primary' AND goalstate = 'primary') = 1
    AND count(*) FILTER (WHERE reportedstate = 'secondary' AND goalstate = 'secondary') = 1
    FROM pgautofailover.node WHERE formationid = 'default'"

wait_healthy() { wait_for "${1:-120}" "a primary and a secondary" "$primary_and_secondary"; }

up() {
    bash "$here/install.sh" >/dev/null
    mkdir -p "$dir"/{logs,pids,run,home}
    [ -f "$dir/ports" ] || echo "$monitor_port $node_1_port $node_2_port" >"$dir/ports"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir" "$dir"/{logs,run,home}
    create_monitor
    start monitor
    wait_for 60 "the monitor" "SELECT true"
    local name
    for name in "${nodes[@]}"; do
        create_node "$name"
        start "$name"
        # the second node's pg_basebackup needs the first one's keeper at work
        wait_for 120 "$name to register" "SELECT count(*) = 1 FROM pgautofailover.node
            WHERE nodename = '$name' AND reportedstate IN ('single', 'wait_primary', 'primary', 'secondary')"
    done
    wait_healthy 120
    state
}

state() {
    monitor_sql "SELECT nodename || ' :' || nodeport || ' ' || reportedstate || ' -> ' || goalstate
                   FROM pgautofailover.node ORDER BY nodeid"
}

uri() {
    local attrs="${1:-read-write}"
    echo "postgresql://postgres@127.0.0.1:$node_1_port,127.0.0.1:$node_2_port/$database?target_session_attrs=$attrs"
}

down() {
    [ -d "$dir" ] || return 0
    local name pid
    for name in "${nodes[@]}" monitor; do
        pid="$(keeper_pid "$name")" || continue
        kill -TERM "$pid" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 30))
    for name in "${nodes[@]}" monitor; do
        pid="$(cat "$dir/pids/$name.pid" 2>/dev/null)" || continue
        while kill -0 -- "-$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    # a PostgreSQL left from a keeper killed earlier (its own postmaster.pid names it)
    for name in "${nodes[@]}" monitor; do
        pid="$(head -n 1 "$dir/$name/postmaster.pid" 2>/dev/null)" || continue
        if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir/$name"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$dir"
}

case "${1:-}" in
    up) up ;;
    start) start "${2:?name: monitor, node_1 or node_2}" ;;
    wait) wait_healthy "${2:-120}" ;;
    state) state ;;
    uri) uri "${2:-read-write}" ;;
    down) down ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
