"""`python -m bench.memory [--sizes 1,10,25] [--local-sizes 1]`: worker memory against
document size.

Starts the real stack (fresh database, private Redis, `avataradam serve`, a Dramatiq
worker `--processes 1 --threads 2`, PostgreSQL vector store) and uploads generated plain
text documents of the given sizes (MiB), one at a time. For each it records the peak
resident set size (RSS) of the worker's process that ingested it, exactly: the kernel's
high-water mark (`VmHWM`), reset before each document through `/proc/<pid>/clear_refs`;
and its RSS once the document is ready and the worker idle again (does memory come
back?). The baseline is the same process idle and warmed up (model loaded, a small
document ingested) in the same run. Each embedder gets a worker of its own: `hashing`
for the whole size sweep (feature hashing is fast, so a 25 MiB document takes minutes,
not an hour on 2 cores) and `local` (all-MiniLM-L6-v2 on the CPU) for `--local-sizes`.

Writes `bench/results/<date>-memory.json` and `.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis
import structlog
import uvloop

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import load_settings
from bench import documents
from bench.harness import PASSWORD, RESULTS, Account
from bench.run import machine
from bench.seeding import sign_in, upload
from bench.stack import BenchDatabase, BenchRedis, Process, Server, base_environment, worker

MIB = 1024 * 1024
_SAMPLE_S = 0.2


def text_document(size_bytes: int, seed: int) -> bytes:
    """F&I training prose (paragraphs of generated sentences), exactly `size_bytes`."""
    parts: list[bytes] = [f"Bench document {uuid.uuid4()}\n\n".encode()]
    total = len(parts[0])
    batch = 0
    while total < size_bytes:
        for paragraph in documents.paragraphs(2000, seed=seed * 100_003 + batch):
            encoded = paragraph.encode() + b"\n\n"
            parts.append(encoded)
            total += len(encoded)
        batch += 1
    return b"".join(parts)[:size_bytes]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Resets the process's RSS high-water mark (Linux: `5` into `clear_refs`)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler:
    """RSS of every process of the worker's tree every `_SAMPLE_S`, in a thread: the
    timeline, and a fallback peak where `clear_refs` is not permitted."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, int] = {}
        self.timeline: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            largest = 0
            for process in tree(self.root):
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
                largest = max(largest, rss)
            self.timeline.append((round(time.monotonic() - self._started, 1), largest))
            self._stop.wait(_SAMPLE_S)


def tree(root: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(root)
        return [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return []


def ingesting_process(root: int) -> psutil.Process:
    """The worker process that ingests: Dramatiq's one worker process, the largest of
    the tree once the model is loaded."""
    return max(tree(root), key=lambda p: p.memory_info().rss)


def mib(value_bytes: float) -> float:
    return round(value_bytes / MIB, 1)


async def wait_done(
    http: httpx.AsyncClient, account: Account, document_id: str, timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = (
            await http.get(f"/v1/documents/{document_id}", headers=account.auth)
        ).json()
        if body.get("status") in ("ready", "failed"):
            return body
        await asyncio.sleep(1.0)  # slow polls: the API must not take the worker's CPU
    raise RuntimeError(f"document {document_id} not done in {timeout_s}s")


async def idle_rss(pid: int, settle_s: float) -> int:
    await asyncio.sleep(settle_s)
    return int(psutil.Process(pid).memory_info().rss)


async def measure_worker(
    embedder: str,
    sizes_mib: list[float],
    *,
    env: dict[str, str],
    log_dir: Path,
    api: Server,
    admin: Account,
    timeout_s: float,
) -> dict[str, Any]:
    process: Process = worker(
        {**env, "AVATARADAM_EMBEDDER": embedder}, log_dir, f"worker-{embedder}"
    )
    process.start()
    runs: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=300) as http:
            warm = text_document(64 * 1024, seed=hash(embedder) % 1000)
            doc = await upload(http, admin, f"warm-{embedder}.txt", warm, "books")
            body = await wait_done(http, admin, doc["id"], timeout_s=300)
            assert body["status"] == "ready", body
            pid = ingesting_process(process.pid).pid
            baseline = await idle_rss(pid, 5.0)
            print(f"[memory] {embedder}: warmed worker pid {pid}, {mib(baseline)} MiB", flush=True)
            for n, size in enumerate(sizes_mib):
                content = text_document(int(size * MIB), seed=n + 1)
                exact = reset_peak(pid)
                started = time.monotonic()
                with Sampler(process.pid) as sampler:
                    doc = await upload(http, admin, f"{embedder}-{size}MiB.txt", content, "books")
                    del content
                    body = await wait_done(http, admin, doc["id"], timeout_s=timeout_s)
                elapsed = time.monotonic() - started
                peak = _status_kib(pid, "VmHWM") * 1024 if exact else sampler.peaks.get(pid, 0)
                after = await idle_rss(pid, 5.0)
                run = {
                    "size_mib": size,
                    "size_bytes": int(size * MIB),
                    "status": body["status"],
                    "error": body.get("error"),
                    "chunks": body.get("chunk_count"),
                    "seconds": round(elapsed, 1),
                    "peak_rss_mib": mib(peak),
                    "peak_over_baseline_mib": mib(peak - baseline),
                    "rss_after_mib": mib(after),
                    "after_over_baseline_mib": mib(after - baseline),
                    "peak_source": "VmHWM" if exact else f"sampled every {_SAMPLE_S}s",
                    "timeline_mib": [(t, mib(rss)) for t, rss in sampler.timeline[::5]],
                }
                runs.append(run)
                summary = {k: v for k, v in run.items() if k != "timeline_mib"}
                print(f"[memory] {embedder}: {json.dumps(summary)}", flush=True)
    finally:
        process.stop()
    return {"embedder": embedder, "baseline_idle_warm_rss_mib": mib(baseline), "runs": runs}


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# Worker memory against document size ({document['started_at']})",
        "",
        document["method"],
        "",
        "| embedder | document | passages | time | peak RSS | peak − idle | RSS after"
        " | after − idle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for worker_result in document["workers"]:
        embedder = worker_result["embedder"]
        lines.append(
            f"| {embedder} | idle, warmed (baseline) | | | "
            f"{worker_result['baseline_idle_warm_rss_mib']} MiB | | | |"
        )
        for run in worker_result["runs"]:
            status = "" if run["status"] == "ready" else f" ({run['status']})"
            lines.append(
                f"| {embedder} | {run['size_mib']} MiB text{status} | {run['chunks']} |"
                f" {run['seconds']} s | {run['peak_rss_mib']} MiB |"
                f" {run['peak_over_baseline_mib']:+} MiB | {run['rss_after_mib']} MiB |"
                f" {run['after_over_baseline_mib']:+} MiB |"
            )
    lines += [
        "",
        f"Machine: {document['machine']}",
        "",
        f"Worker settings: {document['worker_settings']}",
        "",
    ]
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> Path:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    log_dir = Path(tempfile.mkdtemp(prefix="avataradam-bench-memory-"))
    print(f"[memory] logs in {log_dir}", flush=True)
    bench_redis = BenchRedis().start()
    redis.Redis.from_url(bench_redis.url).flushdb()
    db = BenchDatabase().create()
    env = base_environment(db.url, bench_redis.url)
    settings = load_settings(env, env_file=None)
    container = build_container(settings)
    await container.start()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    worker_env = dict(item.split("=", 1) for item in args.worker_env)
    api = Server("api", None, env, log_dir)
    workers: list[dict[str, Any]] = []
    try:
        api.start()
        api.wait_healthy(120)
        email = f"memory-{uuid.uuid4().hex[:6]}@bench.example"
        await container.create_user.create(
            NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
        )
        async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
            root = await sign_in(http, email)
            made = await http.post("/v1/dealerships", json={"name": "Memory"}, headers=root.auth)
            made.raise_for_status()
            address = f"admin-{uuid.uuid4().hex[:6]}@bench.example"
            created = await http.post(
                "/v1/users",
                json={
                    "email": address,
                    "password": PASSWORD,
                    "role": "dealership_admin",
                    "dealership_id": made.json()["id"],
                },
                headers=root.auth,
            )
            created.raise_for_status()
            admin = await sign_in(http, address)
        for embedder, sizes in (("hashing", args.sizes), ("local", args.local_sizes)):
            if sizes:
                workers.append(
                    await measure_worker(
                        embedder,
                        sizes,
                        env=env | worker_env,
                        log_dir=log_dir,
                        api=api,
                        admin=admin,
                        timeout_s=args.timeout,
                    )
                )
    finally:
        try:
            api.stop()
            await container.close()
            db.drop()
        finally:
            bench_redis.stop()
    versions_now = _versions()
    document = {
        "started_at": started_at,
        "method": __doc__.split("\n\n", 1)[1].strip().replace("\n", " "),
        "machine": machine(),
        "versions": versions_now,
        "worker_settings": {
            "processes": 1,
            "threads": 2,
            "embed_batch_size": settings.ingestion.embed_batch_size,
            "upsert_batch_size": settings.ingestion.upsert_batch_size,
            "chunk_size_tokens": settings.ingestion.chunk_size_tokens,
            "environment": worker_env,
        },
        "workers": workers,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / f"{stamp}-{args.name}.json"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    json_path.with_suffix(".md").write_text(markdown(document))
    print(f"[memory] wrote {json_path} and {json_path.with_suffix('.md')}", flush=True)
    return json_path


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "glibc": " ".join(platform.libc_ver())}
    for package in ("avataradam", "torch", "sentence-transformers", "dramatiq", "semchunk"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _sizes(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=_sizes, default=[1.0, 10.0, 25.0], help="MiB, hashing")
    parser.add_argument("--local-sizes", type=_sizes, default=[0.25, 1.0], help="MiB, local model")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per document, seconds")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the workers (e.g. MALLOC_ARENA_MAX=2), repeatable",
    )
    parser.add_argument("--name", default="memory", help="results file suffix")
    uvloop.run(amain(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
