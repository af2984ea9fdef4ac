"""Items 3 and 4: uncached search, and model calls saved on a Zipf replay."""

from __future__ import annotations

import json

import numpy as np
import uvloop

from bench import documents, loadgen
from bench.harness import HOST, Bench, spread
from bench.phases.common import (
    WARM_QUERY,
    alternating_runs,
    cache_counters,
    flush_retrieval_cache,
    search_request,
    warm_model,
    warm_search,
)
from bench.stack import Server


def phase_uncached(b: Bench) -> None:
    """Item 3: the same search with the cache disabled, at a rate both sustain."""
    assert b.api is not None
    nocache = b.start_server(
        "api-nocache",
        None,
        AVATARADAM_HTTP_SERVER=b.chosen_server,
        AVATARADAM_CACHE_ENABLED="false",
    )
    warm_model(nocache, b.tenants[0].user)
    questions = documents.questions(b.q(200, 20), seed=5)
    pairs = [(b.tenants[i % 5].user, q) for i, q in enumerate(questions)]
    for account, question in pairs:  # every cached request below is a hit
        warm_search(b.api, account, question, times=1)
    saturation = loadgen.wrk(
        f"{nocache.base_url}/v1/search",
        method="POST",
        body=json.dumps({"query": WARM_QUERY, "top_k": 5}).encode(),
        headers={**b.tenants[0].user.auth, "Content-Type": "application/json"},
        duration_s=b.q(5, 2),
        connections=8,
    )
    rate = b.q(10.0, 8.0)
    count = int(rate * b.q(8, 3))
    runs = alternating_runs(
        {
            kind: (server, [search_request(a, q, server.port) for a, q in pairs])
            for kind, server in (("uncached", nocache), ("cached", b.api))
        },
        rate=rate,
        count=count,
        repetitions=b.q(3, 1),
    )
    p50 = {k: [r.pct(50) for r in v] for k, v in runs.items()}
    b.results["uncached_search"] = {
        "server": b.chosen_server,
        "rate_rps": rate,
        "questions": len(pairs),
        "uncached_saturation_rps": round(saturation.throughput_rps, 1),
        "runs": {k: [r.summary() for r in v] for k, v in runs.items()},
        "p50_ms": {k: spread(v) for k, v in p50.items()},
        "p99_ms": {k: spread([r.pct(99) for r in v]) for k, v in runs.items()},
        "uncached_over_cached_p50": spread(
            [u / c for u, c in zip(p50["uncached"], p50["cached"], strict=True)]
        ),
    }
    b.samples["low_rate"] = {
        k: np.concatenate([r.latencies_ms for r in v]) for k, v in runs.items()
    }
    b.samples["nocache_server"] = nocache


def zipf_indices(n_queries: int, n_distinct: int, s: float, seed: int = 42) -> np.ndarray:
    ranks = np.arange(1, n_distinct + 1, dtype=float)
    weights = ranks**-s
    rng = np.random.default_rng(seed)
    return rng.choice(n_distinct, size=n_queries, p=weights / weights.sum())


def phase_zipf(b: Bench) -> None:
    """Item 4: Zipf(1.1) replay over two instances sharing Redis, cache on vs off."""
    assert b.api is not None
    n_queries, n_distinct = b.q(10_000, 300), b.q(1_000, 60)
    questions = documents.questions(n_distinct, seed=21)
    draws = zipf_indices(n_queries, n_distinct, 1.1)
    concurrency = 8

    # With the cache off every request computes whatever its question, so the mean
    # needs no more than the first draws of the same sequence (saves minutes per run).
    uncached_draws = draws[: b.q(3_000, 120)]

    def replay(
        servers: list[Server], counted: bool, sequence: np.ndarray
    ) -> tuple[loadgen.Run, dict[str, float]]:
        before = cache_counters(servers) if counted else {}
        reqs = [
            search_request(b.tenants[k % 5].user, questions[k], servers[j % 2].port)
            for j, k in enumerate(sequence)
        ]
        run = uvloop.run(
            loadgen.closed_loop([(HOST, s.port) for s in servers], reqs, concurrency=concurrency)
        )
        after = cache_counters(servers) if counted else {}
        return run, {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}

    second = b.start_server("api-2", None, AVATARADAM_HTTP_SERVER=b.chosen_server)
    warm_model(second, b.tenants[1].user)
    flushed = flush_retrieval_cache(b.env["AVATARADAM_REDIS_URL"])
    on, counters = replay([b.api, second], counted=True, sequence=draws)
    b.stop(second)

    nocache = b.samples.pop("nocache_server", None) or b.start_server(
        "api-nocache",
        None,
        AVATARADAM_HTTP_SERVER=b.chosen_server,
        AVATARADAM_CACHE_ENABLED="false",
    )
    # Every cache-off request computes; quick mode spares itself the second instance.
    nocache2 = (
        nocache
        if b.quick
        else b.start_server(
            "api-nocache-2",
            None,
            AVATARADAM_HTTP_SERVER=b.chosen_server,
            AVATARADAM_CACHE_ENABLED="false",
        )
    )
    warm_model(nocache2, b.tenants[1].user)
    off, _ = replay([nocache, nocache2], counted=False, sequence=uncached_draws)
    b.stop(nocache)
    b.stop(nocache2)

    ret = {r: counters.get(f"retrieval_{r}", 0.0) for r in ("hit", "miss", "bypass")}
    emb = {r: counters.get(f"embedding_{r}", 0.0) for r in ("hit", "miss", "bypass")}
    lookups = sum(ret.values())
    vector_calls = ret["miss"] + ret["bypass"]
    embed_calls = emb["miss"] + emb["bypass"]
    b.results["zipf"] = {
        "queries": n_queries,
        "distinct_questions": n_distinct,
        "distinct_drawn": int(np.unique(draws).size),
        "dealerships": 5,
        "instances": 2,
        "concurrency": concurrency,
        "flushed_keys_before": flushed,
        "counting": (
            "from each instance's /metrics avataradam_cache_requests_total: vector-store "
            "calls = retrieval miss+bypass, embedder calls = embedding miss+bypass; with "
            "the cache disabled every request makes one of each"
        ),
        "retrieval": ret,
        "embedding": emb,
        "hit_rate": round(ret["hit"] / lookups, 4) if lookups else float("nan"),
        "vector_calls_saved": round(1 - vector_calls / n_queries, 4),
        "embedder_calls_saved": round(1 - embed_calls / n_queries, 4),
        "calls_saved": round(1 - (vector_calls + embed_calls) / (2 * n_queries), 4),
        "cache_on": on.summary(),
        "cache_off": off.summary(),
        "cache_off_queries": int(uncached_draws.size),
        "mean_latency_off_over_on": round(
            float(off.latencies_ms.mean() / on.latencies_ms.mean()), 3
        ),
    }
    b.samples["zipf"] = {"cache on": on.latencies_ms, "cache off": off.latencies_ms}
