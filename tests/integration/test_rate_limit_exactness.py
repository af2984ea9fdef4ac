"""The Redis rate limiter is exact under load from many processes at once.

4 OS processes x 16 asyncio clients hammer one key with a limit of N per 1 s window.
At every window edge all clients are released together, then keep firing (randomly
paced) until just before the next edge. Admission times come from the limiter's
clock (Redis `TIME` for Redis), so they are the times the decisions were made.

Asserted: every window admits exactly N (never N + 1, and never fewer, the load being
far above N), and no span shorter than a window holds N + 1 admissions. The same
harness with a per-process in-memory limiter must break that, which shows the
harness can detect over-admission.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
import uuid
from multiprocessing.queues import Queue

import pytest
from redis.asyncio import Redis

from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.redis.ratelimit import RedisRateLimiter
from avataradam.adapters.system import SystemClock
from avataradam.domain.ports.services import RatePolicy

LIMIT = 5
WINDOW_S = 1
WINDOW_US = WINDOW_S * 1_000_000
PROCESSES = 4
CLIENTS_PER_PROCESS = 16
WINDOWS = 20
CONTROL_WINDOWS = 3
START_LEAD_S = 0.3
READY_TIMEOUT_S = 60.0
QUIET_BEFORE_EDGE_S = 0.05
MEAN_PACE_S = 0.025
POLICY = RatePolicy(name="exactness", limit=LIMIT, window_s=WINDOW_S, fail_open=False)


async def _client(
    limiter: RedisRateLimiter | InMemoryRateLimiter, key: str, start_at: float, windows: int
) -> list[int]:
    pace = random.Random()  # noqa: S311 - jitter to spread requests, not a secret
    admitted: list[int] = []
    for window in range(windows):
        edge = start_at + window * WINDOW_S
        await asyncio.sleep(max(0.0, edge - time.time()))
        while time.time() < edge + WINDOW_S - QUIET_BEFORE_EDGE_S:
            decision, decided_at_us = await limiter.hit_and_time(POLICY, key)
            if decision.allowed:
                admitted.append(decided_at_us)
            await asyncio.sleep(pace.uniform(0, 2 * MEAN_PACE_S))
    return admitted


async def _hammer_async(
    backend: str, redis_url: str, key: str, windows: int, ready: Queue[str], start: Queue[float]
) -> list[int]:
    redis = Redis.from_url(redis_url)
    limiter: RedisRateLimiter | InMemoryRateLimiter
    try:
        if backend == "redis":
            limiter = RedisRateLimiter(redis, key_prefix="test:rl:exactness:")
            await limiter.hit(POLICY, f"warm-up-{uuid.uuid4().hex}")
        else:
            limiter = InMemoryRateLimiter(SystemClock())
        ready.put("ready")
        start_at = start.get(timeout=READY_TIMEOUT_S)
        per_client = await asyncio.gather(
            *(_client(limiter, key, start_at, windows) for _ in range(CLIENTS_PER_PROCESS))
        )
    finally:
        await redis.aclose()
    return [stamp for stamps in per_client for stamp in stamps]


def _hammer(
    backend: str,
    redis_url: str,
    key: str,
    windows: int,
    ready: Queue[str],
    start: Queue[float],
    results: Queue[list[int] | str],
) -> None:
    """Entry point of one worker process: puts its admission times (µs) or its error."""
    try:
        results.put(asyncio.run(_hammer_async(backend, redis_url, key, windows, ready, start)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        ready.put("failed")
        results.put(f"{type(exc).__name__}: {exc}")


def _run(backend: str, redis_url: str, windows: int) -> tuple[list[int], int]:
    """All processes' admission times, sorted, and the first window's start (µs).

    The first window opens only once every process is connected and waiting, so slow
    process start-up cannot leave a window short of load.
    """
    context = multiprocessing.get_context("spawn")
    ready: Queue[str] = context.Queue()
    start: Queue[float] = context.Queue()
    results: Queue[list[int] | str] = context.Queue()
    key = uuid.uuid4().hex
    workers = [
        context.Process(
            target=_hammer, args=(backend, redis_url, key, windows, ready, start, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        assert [ready.get(timeout=READY_TIMEOUT_S) for _ in workers] == ["ready"] * PROCESSES
        start_at = time.time() + START_LEAD_S
        for _ in workers:
            start.put(start_at)
        outcomes = [results.get(timeout=windows * WINDOW_S + READY_TIMEOUT_S) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    errors = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert errors == []
    stamps = sorted(stamp for outcome in outcomes if isinstance(outcome, list) for stamp in outcome)
    return stamps, int(start_at * 1_000_000)


def _admitted_per_window(stamps: list[int], start_us: int, windows: int) -> list[int]:
    counts = [0] * windows
    for stamp in stamps:
        window = (stamp - start_us) // WINDOW_US
        if 0 <= window < windows:
            counts[window] += 1
    return counts


def _spans_over_limit(stamps: list[int]) -> list[tuple[int, int]]:
    """Pairs of admissions LIMIT apart that are closer than a window (LIMIT + 1 in it)."""
    return [
        (first, last)
        for first, last in zip(stamps, stamps[LIMIT:], strict=False)
        if last - first < WINDOW_US
    ]


def test_redis_limiter_admits_exactly_the_limit_in_every_window_across_processes(
    redis_url: str,
) -> None:
    stamps, start_us = _run("redis", redis_url, WINDOWS)

    assert _admitted_per_window(stamps, start_us, WINDOWS) == [LIMIT] * WINDOWS
    assert _spans_over_limit(stamps) == []


@pytest.mark.slow  # the harness checking itself: `just test-slow`
def test_per_process_limiters_overadmit_so_the_harness_detects_violations(
    redis_url: str,
) -> None:
    stamps, start_us = _run("memory", redis_url, CONTROL_WINDOWS)

    counts = _admitted_per_window(stamps, start_us, CONTROL_WINDOWS)
    assert max(counts) > LIMIT, counts
    assert _spans_over_limit(stamps) != []
