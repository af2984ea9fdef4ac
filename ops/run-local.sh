#!/usr/bin/env bash
# Runs the workers (one for ingestion, one for webhook deliveries) and the API; Ctrl-C
# stops them all. All write metrics to one fresh PROMETHEUS_MULTIPROC_DIR, so the API's
# /metrics shows the workers' series too (task outcomes, queue depth, heartbeat).
#
# However it is stopped (Ctrl-C, SIGTERM to this script, SIGTERM to its whole process
# group as systemd and `kill -- -PGID` do), it stops every child and waits for them:
# the workers drain within AVATARADAM_WORKER_DRAIN_TIMEOUT_S. If any child exits on its
# own, the others are stopped too.
set -euo pipefail
port="${AVATARADAM_HTTP_PORT:-8000}"
# One folder per port: a second `just run` on another port never clears this one's values.
metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/avataradam-metrics-$(id -u)-${port}}"
mkdir -p "$metrics_dir"
find "$metrics_dir" -maxdepth 1 -name '*.db' -delete  # values of earlier runs
export PROMETHEUS_MULTIPROC_DIR="$metrics_dir"
# One worker per queue, so that a slow webhook receiver never holds an ingestion thread.
# Same host as the API: ingestion (the embedder takes every core) yields the CPU to requests.
AVATARADAM_WORKER_NICE="${AVATARADAM_WORKER_NICE:-10}" uv run --no-sync avataradam worker --queues ingest &
worker_pid=$!
# Deliveries wait on the network, not the CPU: more threads, each bounded by the timeout.
uv run --no-sync avataradam worker --queues webhooks --threads 8 &
webhooks_pid=$!
# In the background too: a foreground child would keep this shell from acting on a
# SIGTERM sent to it alone until that child had exited by itself.
uv run --no-sync avataradam serve &
api_pid=$!

stop_all() {
  trap - EXIT INT TERM
  kill -TERM "$api_pid" "$worker_pid" "$webhooks_pid" 2>/dev/null || true
  status=0
  wait "$api_pid" || status=$?
  wait "$worker_pid" || status=$?
  wait "$webhooks_pid" || status=$?
  return "$status"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

cat >&2 <<MSG

  AvatarAdam API on http://127.0.0.1:${port}  (docs: http://127.0.0.1:${port}/docs,
  metrics of API and worker: http://127.0.0.1:${port}/metrics)
  Create the first admin in another shell:
    uv run avataradam create-admin --email admin@example.com --password 'a-long-password' --role super_admin
  or seed a demo dealership to look around in (it prints how to sign in):
    just demo

MSG
wait -n "$api_pid" "$worker_pid" "$webhooks_pid"
