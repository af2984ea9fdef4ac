"""Helpers shared by the search phases: warm-up, request bodies, cache counters."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import redis
import uvloop

from bench import loadgen
from bench.harness import HOST, Account
from bench.stack import Server

# --------------------------------------------------------------------------- metrics


_METRIC = re.compile(
    r'^avataradam_cache_requests_total\{cache="(\w+)",result="(\w+)"\} ([\d.e+]+)$'
)


def cache_counters(servers: Sequence[Server]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for server in servers:
        text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
        for line in text.splitlines():
            match = _METRIC.match(line)
            if match:
                key = f"{match.group(1)}_{match.group(2)}"
                totals[key] = totals.get(key, 0.0) + float(match.group(3))
    return totals


def flush_retrieval_cache(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    removed = 0
    for pattern in ("avataradam:ret:*", "avataradam:emb:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            removed += int(client.delete(*keys[start : start + 1000]))
    client.close()
    return removed


# --------------------------------------------------------------------------- search


def search_request(account: Account, query: str, port: int, top_k: int = 5) -> bytes:
    body = json.dumps({"query": query, "top_k": top_k}).encode()
    return loadgen.build_request(
        "POST",
        "/v1/search",
        host=f"{HOST}:{port}",
        body=body,
        headers={**account.auth, "Content-Type": "application/json"},
    )


WARM_QUERY = "How do I handle a price objection on GAP insurance?"


def warm_model(server: Server, account: Account) -> None:
    """A query nobody asked before: loads the instance's embedding model now."""
    warm_search(server, account, f"warm-up {uuid.uuid4().hex}", times=1)


def warm_search(
    server: Server, account: Account, query: str = WARM_QUERY, times: int = 3
) -> dict[str, Any]:
    """Searches `times` times (the last is a cache hit when the cache is on)."""
    body: dict[str, Any] = {}
    for _ in range(times):
        response = httpx.post(
            f"{server.base_url}/v1/search",
            json={"query": query, "top_k": 5},
            headers=account.auth,
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
    return body


def alternating_runs(
    targets: dict[str, tuple[Server, list[bytes]]],
    *,
    rate: float,
    count: int,
    repetitions: int,
) -> dict[str, list[loadgen.Run]]:
    """Open-loop runs at one rate, alternating between the targets `repetitions` times,
    so that drift on a shared machine hits every target alike."""
    runs: dict[str, list[loadgen.Run]] = {kind: [] for kind in targets}
    for _ in range(repetitions):
        for kind, (server, requests) in targets.items():
            runs[kind].append(
                uvloop.run(loadgen.fixed_rate(HOST, server.port, requests, rate=rate, count=count))
            )
    return runs
