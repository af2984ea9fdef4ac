"""`RateLimiter` contract, run against every adapter (in-memory and Redis)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.redis.ratelimit import RedisRateLimiter
from avataradam.domain.errors import DependencyUnavailable, InvalidInput
from avataradam.domain.ports.services import RateLimiter, RatePolicy
from tests.support.fakes import ManualClock

WINDOW_S = 1


class Subject:
    """A limiter plus a way to let time pass for it (a fake clock, or real sleep)."""

    def __init__(self, limiter: RateLimiter, advance: Callable[[float], Awaitable[None]]) -> None:
        self.limiter = limiter
        self.advance = advance


def _policy(limit: int = 3, *, name: str = "api", fail_open: bool = False) -> RatePolicy:
    return RatePolicy(name=name, limit=limit, window_s=WINDOW_S, fail_open=fail_open)


@pytest.fixture(params=["memory", "redis"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        clock = ManualClock()

        async def advance_clock(seconds: float) -> None:
            clock.advance(seconds)

        yield Subject(InMemoryRateLimiter(clock), advance_clock)
        return
    redis_url = request.getfixturevalue("redis_url")
    client = Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, key_prefix=f"test:rl:{uuid.uuid4().hex}:")
    yield Subject(limiter, asyncio.sleep)
    await client.aclose()


async def test_admits_exactly_the_limit_then_rejects_with_retry_after(subject: Subject) -> None:
    policy = _policy(limit=3)

    decisions = [await subject.limiter.hit(policy, "user-1") for _ in range(5)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False, False]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0, 0]
    assert all(decision.retry_after_s == 0 for decision in decisions[:3])
    assert all(0 < decision.retry_after_s <= WINDOW_S for decision in decisions[3:])
    assert all(decision.policy == policy for decision in decisions)


async def test_reset_after_covers_the_newest_admission(subject: Subject) -> None:
    decision = await subject.limiter.hit(_policy(limit=2), "user-1")

    assert 0.9 < decision.reset_after_s <= WINDOW_S


async def test_keys_are_isolated(subject: Subject) -> None:
    policy = _policy(limit=1)
    await subject.limiter.hit(policy, "dealer-a")

    assert not (await subject.limiter.hit(policy, "dealer-a")).allowed
    assert (await subject.limiter.hit(policy, "dealer-b")).allowed


async def test_policies_with_different_names_are_isolated(subject: Subject) -> None:
    await subject.limiter.hit(_policy(limit=1, name="login"), "user-1")

    assert (await subject.limiter.hit(_policy(limit=1, name="search"), "user-1")).allowed
    assert not (await subject.limiter.hit(_policy(limit=1, name="login"), "user-1")).allowed


async def test_admits_again_once_the_window_has_passed(subject: Subject) -> None:
    policy = _policy(limit=2)
    for _ in range(2):
        await subject.limiter.hit(policy, "user-1")
    rejected = await subject.limiter.hit(policy, "user-1")

    await subject.advance(rejected.retry_after_s + 0.02)

    decisions = [await subject.limiter.hit(policy, "user-1") for _ in range(3)]
    assert [decision.allowed for decision in decisions] == [True, True, False]


async def test_retry_after_is_when_the_next_slot_frees(subject: Subject) -> None:
    policy = _policy(limit=1)
    await subject.limiter.hit(policy, "user-1")
    rejected = await subject.limiter.hit(policy, "user-1")

    await subject.advance(rejected.retry_after_s - 0.3)
    assert not (await subject.limiter.hit(policy, "user-1")).allowed

    await subject.advance(0.35)
    assert (await subject.limiter.hit(policy, "user-1")).allowed


async def test_hit_all_admits_only_when_every_policy_has_room_and_then_consumes_each(
    subject: Subject,
) -> None:
    user = _policy(limit=1, name="search")
    shared = _policy(limit=3, name="dealership")

    first = await subject.limiter.hit_all([(user, "user-1"), (shared, "dealer-a")])
    refused = await subject.limiter.hit_all([(user, "user-1"), (shared, "dealer-a")])

    assert [d.allowed for d in first] == [True, True]
    assert [d.remaining for d in first] == [0, 2]
    assert [d.allowed for d in refused] == [False, True]
    assert refused[0].retry_after_s > 0
    assert refused[1].retry_after_s == 0
    # The refused request consumed nothing from the policy that had room.
    assert refused[1].remaining == 2
    other_user = await subject.limiter.hit_all([(user, "user-2"), (shared, "dealer-a")])
    assert [d.remaining for d in other_user] == [0, 1]


async def test_hit_all_refused_by_the_shared_policy_consumes_nothing_from_the_user(
    subject: Subject,
) -> None:
    user = _policy(limit=5, name="search")
    shared = _policy(limit=1, name="dealership")
    await subject.limiter.hit_all([(user, "user-1"), (shared, "dealer-a")])

    refused = await subject.limiter.hit_all([(user, "user-2"), (shared, "dealer-a")])

    assert [d.allowed for d in refused] == [True, False]
    alone = await subject.limiter.hit(user, "user-2")
    assert alone.allowed
    assert alone.remaining == 4


async def test_hit_all_agrees_with_hit_for_one_policy(subject: Subject) -> None:
    policy = _policy(limit=2)

    combined = [(await subject.limiter.hit_all([(policy, "k")]))[0] for _ in range(3)]

    assert [d.allowed for d in combined] == [True, True, False]
    assert not (await subject.limiter.hit(policy, "k")).allowed


@pytest.mark.parametrize(("limit", "window_s"), [(0, 1), (1, 0), (-1, 1)])
async def test_policy_admitting_nothing_is_invalid(
    subject: Subject, limit: int, window_s: int
) -> None:
    policy = RatePolicy(name="broken", limit=limit, window_s=window_s, fail_open=False)

    with pytest.raises(InvalidInput):
        await subject.limiter.hit(policy, "user-1")


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=6),
    window_s=st.integers(min_value=1, max_value=3),
    gaps_us=st.lists(st.integers(min_value=0, max_value=1_500_000), min_size=1, max_size=80),
)
async def test_no_window_ever_admits_more_than_the_limit_and_nothing_is_refused_needlessly(
    limit: int, window_s: int, gaps_us: list[int]
) -> None:
    clock = ManualClock()
    limiter = InMemoryRateLimiter(clock)
    policy = RatePolicy(name="p", limit=limit, window_s=window_s, fail_open=False)
    window_us = window_s * 1_000_000
    admitted: list[int] = []

    for gap in gaps_us:
        clock.advance(gap / 1_000_000)
        decision, now = await limiter.hit_and_time(policy, "k")
        in_window = sum(1 for t in admitted if now - window_us < t <= now)
        assert decision.allowed == (in_window < limit)
        if decision.allowed:
            admitted.append(now)

    for first, last in zip(admitted, admitted[limit:], strict=False):
        assert last - first >= window_us


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    client = Redis(
        host="127.0.0.1",
        port=_closed_port(),
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    yield client
    await client.aclose()


async def test_unreachable_redis_admits_a_fail_open_policy_and_reports_it(
    unreachable_redis: Redis,
) -> None:
    unavailable: list[str] = []
    limiter = RedisRateLimiter(unreachable_redis, on_unavailable=unavailable.append)
    started = time.monotonic()

    decision = await limiter.hit(_policy(name="search", fail_open=True), "user-1")

    assert decision.allowed
    assert unavailable == ["search"]
    assert time.monotonic() - started < 1


async def test_unreachable_redis_rejects_a_fail_closed_policy_with_dependency_unavailable(
    unreachable_redis: Redis,
) -> None:
    unavailable: list[str] = []
    limiter = RedisRateLimiter(unreachable_redis, on_unavailable=unavailable.append)

    with pytest.raises(DependencyUnavailable):
        await limiter.hit(_policy(name="login", fail_open=False), "user-1")
    assert unavailable == ["login"]


async def test_unreachable_redis_fails_closed_when_any_policy_of_the_request_does(
    unreachable_redis: Redis,
) -> None:
    unavailable: list[str] = []
    limiter = RedisRateLimiter(unreachable_redis, on_unavailable=unavailable.append)
    hits = [(_policy(name="search", fail_open=True), "u"), (_policy(name="d"), "d")]

    with pytest.raises(DependencyUnavailable):
        await limiter.hit_all(hits)
    opened = await limiter.hit_all([(_policy(name="search", fail_open=True), "u")] * 1)

    assert unavailable == ["search", "d", "search"]
    assert [d.allowed for d in opened] == [True]


async def test_a_refund_gives_back_the_newest_admission_of_each_pair(subject: Subject) -> None:
    account, address = _policy(limit=2, name="login"), _policy(limit=3, name="login_address")
    hits = [(account, "a@example.com|10.0.0.1"), (address, "10.0.0.1")]
    await subject.limiter.hit_all(hits)
    await subject.limiter.hit_all(hits)
    assert not all(d.allowed for d in await subject.limiter.hit_all(hits))

    await subject.limiter.refund(hits)

    admitted = await subject.limiter.hit_all(hits)
    assert all(d.allowed for d in admitted)
    assert [d.remaining for d in admitted] == [0, 1]


async def test_a_refund_of_nothing_admitted_changes_nothing(subject: Subject) -> None:
    policy = _policy(limit=1)
    await subject.limiter.refund([(policy, "nobody")])

    assert (await subject.limiter.hit(policy, "nobody")).allowed
    assert not (await subject.limiter.hit(policy, "nobody")).allowed


async def test_a_refund_never_raises_when_redis_is_unreachable(unreachable_redis: Redis) -> None:
    unavailable: list[str] = []
    limiter = RedisRateLimiter(unreachable_redis, on_unavailable=unavailable.append)

    await limiter.refund([(_policy(), "user-1")])

    assert unavailable == [], "a refund takes no decision: nothing to count"
