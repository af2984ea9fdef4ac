#!/usr/bin/env bash
# Runs a worker in the background and the API in the foreground; Ctrl-C stops both.
set -euo pipefail
port="${AVATARADAM_HTTP_PORT:-8000}"
uv run --no-sync avataradam worker &
worker_pid=$!
trap 'kill "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true' EXIT INT TERM
cat >&2 <<MSG

  AvatarAdam API on http://127.0.0.1:${port}  (docs: http://127.0.0.1:${port}/docs)
  Create the first admin in another shell:
    uv run avataradam create-admin --email admin@example.com --password 'a-long-password' --role super_admin

MSG
uv run --no-sync avataradam serve
