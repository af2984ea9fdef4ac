#!/usr/bin/env bash
# Runs a worker and the API; Ctrl-C stops both. Both write metrics to one fresh
# PROMETHEUS_MULTIPROC_DIR, so the API's /metrics shows the worker's series too (task
# outcomes, queue depth, heartbeat).
#
# However it is stopped (Ctrl-C, SIGTERM to this script, SIGTERM to its whole process
# group as systemd and `kill -- -PGID` do), it stops both children and waits for them:
# the worker drains within AVATARADAM_WORKER_DRAIN_TIMEOUT_S. If either child exits on
# its own, the other is stopped too.
set -euo pipefail
port="${AVATARADAM_HTTP_PORT:-8000}"
metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/avataradam-metrics-$(id -u)}"
mkdir -p "$metrics_dir"
find "$metrics_dir" -maxdepth 1 -name '*.db' -delete  # values of earlier runs
export PROMETHEUS_MULTIPROC_DIR="$metrics_dir"
# Same host as the API: ingestion (the embedder takes every core) yields the CPU to requests.
AVATARADAM_WORKER_NICE="${AVATARADAM_WORKER_NICE:-10}" uv run --no-sync avataradam worker &
worker_pid=$!
# In the background too: a foreground child would keep this shell from acting on a
# SIGTERM sent to it alone until that child had exited by itself.
uv run --no-sync avataradam serve &
api_pid=$!

stop_both() {
  trap - EXIT INT TERM
  kill -TERM "$api_pid" "$worker_pid" 2>/dev/null || true
  status=0
  wait "$api_pid" || status=$?
  wait "$worker_pid" || status=$?
  return "$status"
}
trap 'stop_both; exit 130' INT
trap 'stop_both; exit 143' TERM
trap 'stop_both' EXIT

cat >&2 <<MSG

  AvatarAdam API on http://127.0.0.1:${port}  (docs: http://127.0.0.1:${port}/docs,
  metrics of API and worker: http://127.0.0.1:${port}/metrics)
  Create the first admin in another shell:
    uv run avataradam create-admin --email admin@example.com --password 'a-long-password' --role super_admin

MSG
wait -n "$api_pid" "$worker_pid"
