"""Items 1 and 2: the floor, hello world and cached search on uvicorn and Granian."""

from __future__ import annotations

import json
from typing import TypedDict

import numpy as np

from bench import loadgen
from bench.floor_app import FLOOR_PATH
from bench.harness import HOST, Bench, spread
from bench.phases.common import (
    WARM_QUERY,
    alternating_runs,
    search_request,
    warm_model,
    warm_search,
)
from bench.stack import Server


class Saturation(TypedDict):
    """One server's closed-loop figures: the `spread` of each repeated measurement."""

    hello_rps: dict[str, float]
    floor_rps: dict[str, float]
    cached_search_rps: dict[str, float]
    cached_over_hello: dict[str, float]
    cached_over_floor: dict[str, float]
    floor_over_hello: dict[str, float]
    wrk_p99_ms_hello: dict[str, float]
    wrk_p99_ms_search: dict[str, float]
    wrk_p99_ms_floor: dict[str, float]
    wrk_socket_errors: dict[str, int]


def phase_servers(b: Bench) -> None:
    """Items 1 and 2: hello world, the floor route and cached search on uvicorn and Granian.

    The floor (`bench.floor_app`) is the same API with one route doing one rate-limit
    call and one PostgreSQL statement: cached search ÷ floor is what the cached search
    path itself costs (goal ≥ 0.8, issue 14)."""
    user = b.tenants[0].user
    targets: dict[str, Server] = {}
    # Quick mode measures the production default only; the full run compares both.
    kinds = ("granian",) if b.quick else ("uvicorn", "granian")
    for kind in kinds:
        targets[f"hello-{kind}"] = b.start_server(
            f"hello-{kind}", "bench.hello_app:create", wait=False, AVATARADAM_HTTP_SERVER=kind
        )
        targets[f"search-{kind}"] = b.start_server(
            f"api-{kind}", None, wait=False, AVATARADAM_HTTP_SERVER=kind
        )
        targets[f"floor-{kind}"] = b.start_server(
            f"floor-{kind}", "bench.floor_app:create", wait=False, AVATARADAM_HTTP_SERVER=kind
        )
    for name, target in targets.items():
        target.wait_healthy(120)
        if name.startswith(("search", "floor")):
            warm_model(target, user)  # the background warm-up is over before measuring
        if name.startswith("search") and not warm_search(target, user)["cached"]:
            raise RuntimeError("warm search did not come from the cache")
    body = json.dumps({"query": WARM_QUERY, "top_k": 5}).encode()
    headers = {**user.auth, "Content-Type": "application/json"}
    saturation: dict[str, list[float]] = {name: [] for name in targets}
    wrk_p99: dict[str, list[float]] = {name: [] for name in targets}
    socket_errors: dict[str, int] = dict.fromkeys(targets, 0)
    for _ in range(b.q(3, 1)):
        for name, target in targets.items():
            if name.startswith("hello"):
                result = loadgen.wrk(f"{target.base_url}/hello", duration_s=b.q(5, 2))
            else:
                path = FLOOR_PATH if name.startswith("floor") else "/v1/search"
                result = loadgen.wrk(
                    f"{target.base_url}{path}",
                    method="POST",
                    body=body,
                    headers=headers,
                    duration_s=b.q(5, 2),
                )
            # A wrong answer is never counted; a rare socket error (wrk's 2 s timeout at
            # saturation) is reported, and more than 0.1 % of requests stops the run.
            if result.non_2xx or result.socket_errors > max(1, result.requests // 1000):
                raise RuntimeError(f"{name}: wrk saw errors {result}")
            socket_errors[name] += result.socket_errors
            saturation[name].append(result.throughput_rps)
            wrk_p99[name].append(result.p99_ms)
    servers: dict[str, Saturation] = {}
    for server in kinds:
        hello, search = saturation[f"hello-{server}"], saturation[f"search-{server}"]
        floor = saturation[f"floor-{server}"]
        servers[server] = {
            "hello_rps": spread(hello),
            "floor_rps": spread(floor),
            "cached_search_rps": spread(search),
            "cached_over_hello": spread([s / h for s, h in zip(search, hello, strict=True)]),
            "cached_over_floor": spread([s / f for s, f in zip(search, floor, strict=True)]),
            "floor_over_hello": spread([f / h for f, h in zip(floor, hello, strict=True)]),
            "wrk_p99_ms_hello": spread(wrk_p99[f"hello-{server}"]),
            "wrk_p99_ms_search": spread(wrk_p99[f"search-{server}"]),
            "wrk_p99_ms_floor": spread(wrk_p99[f"floor-{server}"]),
            "wrk_socket_errors": {
                "floor": socket_errors[f"floor-{server}"],
                "hello": socket_errors[f"hello-{server}"],
                "search": socket_errors[f"search-{server}"],
            },
        }
    b.chosen_server = max(servers, key=lambda s: servers[s]["cached_search_rps"]["median"])
    faster_hello = max(servers, key=lambda s: servers[s]["hello_rps"]["median"])
    b.results["servers"] = {
        "wrk": "closed loop, 1 thread, 32 connections",
        "by_server": servers,
        "faster_on_cached_search": b.chosen_server,
        "faster_on_hello": faster_hello,
    }
    if len(servers) == 2:
        b.results["servers"]["granian_over_uvicorn_hello"] = round(
            servers["granian"]["hello_rps"]["median"] / servers["uvicorn"]["hello_rps"]["median"], 3
        )
        b.results["servers"]["granian_over_uvicorn_search"] = round(
            servers["granian"]["cached_search_rps"]["median"]
            / servers["uvicorn"]["cached_search_rps"]["median"],
            3,
        )
    chosen = servers[b.chosen_server]
    b.results["cached_search"] = {"server": b.chosen_server, "saturation": chosen}

    # Item 2 latency: open loop at half the cached search saturation, same rate for both.
    hello_srv, api_srv = targets[f"hello-{b.chosen_server}"], targets[f"search-{b.chosen_server}"]
    rate = 0.5 * chosen["cached_search_rps"]["median"]
    duration = b.q(10, 3)
    count = int(rate * duration)
    hello_req = [loadgen.build_request("GET", "/hello", host=f"{HOST}:{hello_srv.port}")]
    search_req = [search_request(user, WARM_QUERY, api_srv.port)]
    runs = alternating_runs(
        {"hello": (hello_srv, hello_req), "cached_search": (api_srv, search_req)},
        rate=rate,
        count=count,
        repetitions=b.q(3, 1),
    )
    b.results["cached_search"]["fixed_rate"] = {
        "rate_rps": round(rate, 1),
        "duration_s": duration,
        "runs": {k: [r.summary() for r in v] for k, v in runs.items()},
        "p50_ms": {k: spread([r.pct(50) for r in v]) for k, v in runs.items()},
        "p99_ms": {k: spread([r.pct(99) for r in v]) for k, v in runs.items()},
    }
    b.samples["half_saturation"] = {
        k: np.concatenate([r.latencies_ms for r in v]) for k, v in runs.items()
    }
    for name, target in targets.items():
        if name != f"search-{b.chosen_server}":
            b.stop(target)
    b.api = api_srv
