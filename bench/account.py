"""`python -m bench.account [--quick]` (`just bench-account`): what the account check costs.

Every authenticated request checks the account as it is now (active, dealership
active, role, session version: `Authenticate`). This measures, in one run and one
process, the same request three ways, alternating them round by round:

- `without`: the token is verified, the account lookup answers a constant (no check
  of the current state: what the API did before sessions followed the account);
- `cached`: the production path, states kept in the process (`CachedAccountStates`,
  subscribed to its Redis broadcast) and warm;
- `uncached`: every request reads PostgreSQL (`AVATARADAM_AUTH_ACCOUNT_CACHE_TTL_S=0`).

Each round runs the three in a shuffled order; a ratio is taken between variants of
the same round (same moment, same load on a shared machine), and the median of the
rounds' ratios is reported.

The request is `GET /v1/conversations/scenarios`, the cheapest authenticated route, so
the check's share is as large as it gets; it is driven straight into the ASGI app (no
sockets) so that what differs is the check alone. The check by itself (`Authenticate`
per call) is timed too. Budget: the cached request costs at most 1.05x the request
without the check. Writes `bench/results/<date>-account.json` and `.md`.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
import uvloop

from avataradam.adapters.postgres.identity import PostgresAccountStates
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.redis.accounts import CachedAccountStates
from avataradam.domain.model import AccountState, Role
from avataradam.domain.usecases.auth import Authenticate
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from bench.stack import ROOT, BenchDatabase, BenchRedis, base_environment

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-password-long-enough"
PATH = "/v1/conversations/scenarios"
BUDGET = 1.05


class ConstantAccountStates:
    """AccountStates answering one fixed state: the lookup costs nothing."""

    def __init__(self, state: AccountState) -> None:
        self._state = state

    async def get(self, user_id: UUID) -> AccountState | None:
        del user_id
        return self._state

    async def changed(self, *, user_ids: object = (), dealership_id: UUID | None = None) -> None:
        del user_ids, dealership_id


def _scope(token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }


def request_driver(app: Any, token: str) -> Callable[[], Awaitable[int]]:
    """One call of the ASGI app per await; answers the status code."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(_scope(token), receive, send)
        return status

    return call


async def per_call_us(call: Callable[[], Awaitable[Any]], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1e6


async def measure(container: Container, token: str, rounds: int, n: int) -> dict[str, Any]:
    claims = container.tokens.verify(token)
    state = await container.accounts.get(claims.user_id)
    assert state is not None
    assert isinstance(container.accounts, CachedAccountStates)
    assert container.accounts.live, "the cache is subscribed to its broadcast"
    uow = container.uow
    assert isinstance(uow, PostgresUnitOfWorkFactory)
    variants = {
        "without": Authenticate(container.tokens, ConstantAccountStates(state)),
        "cached": Authenticate(container.tokens, container.accounts),
        "uncached": Authenticate(container.tokens, PostgresAccountStates(uow.database)),
    }
    app = create_app(container)
    request = request_driver(app, token)
    requests: dict[str, list[float]] = {name: [] for name in variants}
    checks: dict[str, list[float]] = {name: [] for name in variants}
    for name, authenticate in variants.items():  # warm every path once
        container.authenticate = authenticate
        assert await request() == 200, name
        await per_call_us(request, n // 10)
    order = list(variants)
    shuffler = random.Random(8)
    for _ in range(rounds):
        shuffler.shuffle(order)  # no variant always runs first (or right after another)
        for name in order:
            authenticate = variants[name]
            container.authenticate = authenticate
            requests[name].append(await per_call_us(request, n))
            checks[name].append(await per_call_us(functools.partial(authenticate, token), n))
    container.authenticate = variants["cached"]
    med = {name: statistics.median(values) for name, values in requests.items()}
    check = {name: statistics.median(values) for name, values in checks.items()}
    # Ratios are paired within a round (same moment, same machine load), then the median.
    paired = {
        name: statistics.median(
            a / b for a, b in zip(requests[name], requests["without"], strict=True)
        )
        for name in ("cached", "uncached")
    }
    added = {
        name: statistics.median(
            a - b for a, b in zip(requests[name], requests["without"], strict=True)
        )
        for name in ("cached", "uncached")
    }
    return {
        "request": PATH,
        "rounds": rounds,
        "requests_per_round": n,
        "request_us": {name: round(value, 1) for name, value in med.items()},
        "request_us_runs": {name: [round(v, 1) for v in vs] for name, vs in requests.items()},
        "check_us": {name: round(value, 2) for name, value in check.items()},
        "ratio_cached": round(paired["cached"], 3),
        "ratio_uncached": round(paired["uncached"], 3),
        "added_us_cached": round(added["cached"], 1),
        "added_us_uncached": round(added["uncached"], 1),
        "budget_ratio_cached": BUDGET,
        "met": paired["cached"] <= BUDGET,
    }


def markdown(result: dict[str, Any], stamp: str) -> str:
    r, c = result["request_us"], result["check_us"]
    verdict = "met" if result["met"] else "missed"
    return "\n".join(
        [
            f"# Account check cost ({stamp})",
            "",
            f"`python -m bench.account` (`just bench-account`), {result['rounds']} rounds of "
            f"{result['requests_per_round']} requests per variant, in a shuffled order each "
            "round; medians, ratios paired within a round. "
            f"Request `GET {result['request']}` driven into the ASGI app in-process, real "
            "PostgreSQL and a private Redis.",
            "",
            "| variant | µs per request | ÷ without | µs per check alone |",
            "|---|---|---|---|",
            f"| without (constant account state) | {r['without']} | 1.000 | {c['without']} |",
            f"| cached (production) | {r['cached']} | {result['ratio_cached']} | {c['cached']} |",
            f"| uncached (PostgreSQL per request) | {r['uncached']} | {result['ratio_uncached']} "
            f"| {c['uncached']} |",
            "",
            f"Budget: cached ≤ {result['budget_ratio_cached']}× without — **{verdict}** "
            f"(median paired difference: {result['added_us_cached']} µs per request; "
            f"uncached adds {result['added_us_uncached']} µs).",
            "",
            f"Machine: {result['machine']}.",
            "",
        ]
    )


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    bench_redis = BenchRedis().start()
    db = BenchDatabase().create()
    try:
        env = base_environment(db.url, bench_redis.url) | {"AVATARADAM_EMBEDDER": "hashing"}
        container = build_container(load_settings(env, env_file=None))
        await container.start()
        try:
            dealership = await container.create_dealership.create("Bench Account Motors")
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            await container.create_user.create(
                NewUser(email=email, password=PASSWORD, role=Role.USER), dealership.id
            )
            token = (await container.login(email, PASSWORD)).access_token
            rounds, n = (5, 200) if args.quick else (31, 400)
            result = await measure(container, token, rounds, n)
        finally:
            await container.close()
    finally:
        db.drop()
        bench_redis.stop()
    result["machine"] = f"{platform.machine()}, {platform.python_version()}"
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    result = uvloop.run(amain(args))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"{stamp}-account{'-quick' if args.quick else ''}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(result, stamp))
    print(markdown(result, stamp))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
