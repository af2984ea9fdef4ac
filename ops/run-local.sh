#!/usr/bin/env bash
# Runs a worker in the background and the API in the foreground; Ctrl-C stops both.
# Both write metrics to one fresh PROMETHEUS_MULTIPROC_DIR, so the API's /metrics shows
# the worker's series too (task outcomes, queue depth, heartbeat).
set -euo pipefail
port="${AVATARADAM_HTTP_PORT:-8000}"
metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/avataradam-metrics-$(id -u)}"
mkdir -p "$metrics_dir"
find "$metrics_dir" -maxdepth 1 -name '*.db' -delete  # values of earlier runs
export PROMETHEUS_MULTIPROC_DIR="$metrics_dir"
# Same host as the API: ingestion (the embedder takes every core) yields the CPU to requests.
AVATARADAM_WORKER_NICE="${AVATARADAM_WORKER_NICE:-10}" uv run --no-sync avataradam worker &
worker_pid=$!
trap 'kill "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true' EXIT INT TERM
cat >&2 <<MSG

  AvatarAdam API on http://127.0.0.1:${port}  (docs: http://127.0.0.1:${port}/docs,
  metrics of API and worker: http://127.0.0.1:${port}/metrics)
  Create the first admin in another shell:
    uv run avataradam create-admin --email admin@example.com --password 'a-long-password' --role super_admin

MSG
uv run --no-sync avataradam serve
