"""Item 5: what the exact cross-instance rate limiter costs, in process and over HTTP."""

from __future__ import annotations

import time
import uuid

import numpy as np

from avataradam.adapters.redis.ratelimit import RedisRateLimiter
from avataradam.domain.access import Principal
from avataradam.domain.model import Role
from avataradam.domain.ports.services import RatePolicy
from avataradam.domain.usecases.search import SearchQuery
from avataradam.entrypoints.settings import env_variable_names
from bench.harness import Bench, spread
from bench.phases.common import WARM_QUERY, alternating_runs, search_request, warm_search


def phase_limiter_http(b: Bench) -> None:
    """Item 7 over HTTP: cached search with AVATARADAM_RATE_LIMIT_ENABLED true vs false.

    Two instances of the chosen server share Redis and the warm cache; both get the
    same open-loop rate, alternating, and the p50/p99 differences are the limit checks'
    cost per request (per-user and per-dealership policies: two Redis calls).
    """
    assert b.api is not None
    user = b.tenants[0].user
    off = b.start_server(
        "api-nolimit",
        None,
        AVATARADAM_HTTP_SERVER=b.chosen_server,
        AVATARADAM_RATE_LIMIT_ENABLED="false",
    )
    warm_search(off, user)
    saturation = b.results["cached_search"]["saturation"]["cached_search_rps"]["median"]
    rate = 0.25 * saturation
    count = int(rate * b.q(8, 3))
    runs = alternating_runs(
        {
            kind: (server, [search_request(user, WARM_QUERY, server.port)])
            for kind, server in (("limit on", b.api), ("limit off", off))
        },
        rate=rate,
        count=count,
        repetitions=b.q(3, 2),
    )
    b.stop(off)
    on50 = [r.pct(50) for r in runs["limit on"]]
    off50 = [r.pct(50) for r in runs["limit off"]]
    on99 = [r.pct(99) for r in runs["limit on"]]
    off99 = [r.pct(99) for r in runs["limit off"]]
    b.results["rate_limiter_http"] = {
        "mode": "HTTP, AVATARADAM_RATE_LIMIT_ENABLED true vs false, cached search",
        "rate_rps": round(rate, 1),
        "statuses": {
            k: {str(code): n for r in v for code, n in r.statuses.items()} for k, v in runs.items()
        },
        "p50_ms": {"limit on": spread(on50), "limit off": spread(off50)},
        "p99_ms": {"limit on": spread(on99), "limit off": spread(off99)},
        "overhead_p50_ms": spread([a - c for a, c in zip(on50, off50, strict=True)]),
        "overhead_p99_ms": spread([a - c for a, c in zip(on99, off99, strict=True)]),
    }
    b.samples["limiter_http"] = {
        k: np.concatenate([r.latencies_ms for r in v]) for k, v in runs.items()
    }


async def phase_limiter(b: Bench) -> None:
    """Item 7 in-process: one RedisRateLimiter check in front of the cached search use
    case, alternating calls with and without it. Isolates the check from HTTP noise;
    the HTTP comparison (`phase_limiter_http`) is the summary figure when available.
    """
    http_setting = [n for p, n in env_variable_names().items() if p[0].startswith("rate")]
    tenant = b.tenants[0]
    principal = Principal(
        user_id=uuid.UUID(tenant.user.user_id),
        role=Role.USER,
        dealership_id=uuid.UUID(tenant.dealership_id),
    )
    query = SearchQuery(query=WARM_QUERY, top_k=5)
    limiter = RedisRateLimiter(b.container.redis, key_prefix=f"bench:{uuid.uuid4().hex[:6]}:")
    policy = RatePolicy(name="search", limit=100_000, window_s=60, fail_open=True)
    key = tenant.user.user_id
    enforce = getattr(b.container, "enforce_rate_limits", None)

    async def limit_check() -> None:
        # The exact check the HTTP hook runs when wired (every policy of the route
        # class), else one RedisRateLimiter call.
        if enforce is not None:
            await enforce.for_request("search", principal)
        else:
            await limiter.hit(policy, key)

    if not (await b.container.search(principal, query)).cached:
        await b.container.search(principal, query)
    n = b.q(3000, 800)
    plain, limited, check = [], [], []
    for i in range(n + 100):
        t0 = time.perf_counter()
        if i % 2:
            await limit_check()
            t1 = time.perf_counter()
            await b.container.search(principal, query)
            t2 = time.perf_counter()
            if i >= 100:
                limited.append((t2 - t0) * 1000)
                check.append((t1 - t0) * 1000)
        else:
            await b.container.search(principal, query)
            if i >= 100:
                plain.append((time.perf_counter() - t0) * 1000)
    pa, la, ca = np.array(plain), np.array(limited), np.array(check)
    b.results["rate_limiter"] = {
        "mode": "in-process, alternating: cached SearchKnowledgeBase with and without "
        + (
            "EnforceRateLimits.for_request('search') (the HTTP hook's check)"
            if enforce is not None
            else "one RedisRateLimiter.hit"
        ),
        "http_settings_found": http_setting,
        "samples_each": int(pa.size),
        "search_p50_ms": round(float(np.percentile(pa, 50)), 4),
        "search_p99_ms": round(float(np.percentile(pa, 99)), 4),
        "limited_search_p50_ms": round(float(np.percentile(la, 50)), 4),
        "limited_search_p99_ms": round(float(np.percentile(la, 99)), 4),
        "check_p50_ms": round(float(np.percentile(ca, 50)), 4),
        "check_p99_ms": round(float(np.percentile(ca, 99)), 4),
        "overhead_p50_ms": round(float(np.percentile(la, 50) - np.percentile(pa, 50)), 4),
        "overhead_p99_ms": round(float(np.percentile(la, 99) - np.percentile(pa, 99)), 4),
        "overhead_p50_ms_by_block": spread(
            [float(np.percentile(la[k::3], 50) - np.percentile(pa[k::3], 50)) for k in range(3)]
        ),
    }
    b.samples["limiter"] = {"without limit": pa, "with limit": la, "limit check alone": ca}
