"""Contract of the usage repository and the budget ledger, run against every adapter:
usage records per reply, day totals, alerts claimed once, budgets on dealerships, and
token holds decided exactly however many callers reserve at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avataradam.adapters.memory.budget import InMemoryBudgetLedger
from avataradam.adapters.redis.budget import RedisBudgetLedger
from avataradam.adapters.system import SystemClock
from avataradam.domain.errors import Conflict, DependencyUnavailable
from avataradam.domain.model import MessageRole, UsageDay, UsageKind, UsageRecord
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import BudgetHold, BudgetLedger
from tests.contract.builders import conversation, dealership, message, seed

# `uow` (memory, postgres, pgbouncer) is tests/contract/conftest.py's.


DAY_ONE = datetime(2025, 3, 30, 23, 59, tzinfo=UTC)
DAY_TWO = datetime(2025, 3, 31, 0, 1, tzinfo=UTC)


async def _reply(uow: UnitOfWorkFactory) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    """A dealership with one conversation holding three assistant messages."""
    d, u = await seed(uow)
    c = conversation(d, u)
    ids = []
    async with uow() as work:
        await work.conversations.add(c)
        for _ in range(3):
            m = message(c.id, "answer", MessageRole.ASSISTANT, DAY_ONE)
            await work.conversations.add_message(m)
            ids.append(m.id)
        await work.commit()
    return d.id, c.id, ids


def _record(
    dealership_id: uuid.UUID,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    at: datetime,
    *,
    prompt: int = 100,
    completion: int = 20,
    cached: bool = False,
) -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4(),
        dealership_id=dealership_id,
        conversation_id=conversation_id,
        message_id=message_id,
        model="gpt-test",
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_ms=12.5,
        cached=cached,
        created_at=at,
    )


async def test_usage_is_totalled_per_utc_day_and_tokens_per_range(uow: UnitOfWorkFactory) -> None:
    dealership_id, conversation_id, (first, second, third) = await _reply(uow)
    other_id, other_conversation, (foreign, _, _) = await _reply(uow)
    async with uow() as work:
        await work.usage.add(_record(dealership_id, conversation_id, first, DAY_ONE))
        await work.usage.add(
            _record(
                dealership_id, conversation_id, second, DAY_TWO, prompt=0, completion=0, cached=True
            )
        )
        await work.usage.add(_record(dealership_id, conversation_id, third, DAY_TWO, prompt=7))
        await work.usage.add(_record(other_id, other_conversation, foreign, DAY_TWO))
        await work.commit()
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    async with uow(read_only=True) as work:
        days = await work.usage.days(dealership_id=dealership_id, start=start, end=end)
        tokens = await work.usage.tokens(dealership_id=dealership_id, start=start, end=end)
        day_two_only = await work.usage.tokens(
            dealership_id=dealership_id, start=DAY_TWO - timedelta(minutes=1), end=end
        )
    assert days == [
        UsageDay(
            day=date(2025, 3, 30),
            model_calls=1,
            cached_answers=0,
            prompt_tokens=100,
            completion_tokens=20,
            speech_seconds=0.0,
        ),
        UsageDay(
            day=date(2025, 3, 31),
            model_calls=1,
            cached_answers=1,
            prompt_tokens=7,
            completion_tokens=20,
            speech_seconds=0.0,
        ),
    ]
    assert (tokens, day_two_only) == (147, 27)


async def test_a_message_is_recorded_once(uow: UnitOfWorkFactory) -> None:
    dealership_id, conversation_id, (first, _, _) = await _reply(uow)
    async with uow() as work:
        await work.usage.add(_record(dealership_id, conversation_id, first, DAY_ONE))
        await work.commit()
    async with uow() as work:
        with pytest.raises(Conflict):
            await work.usage.add(_record(dealership_id, conversation_id, first, DAY_ONE))


async def test_speech_counts_its_seconds_and_tokens_but_no_model_call(
    uow: UnitOfWorkFactory,
) -> None:
    """Given a reply, the same reply spoken twice (two voices) and a transcription
    without any message, the day counts one model call, the seconds and speech tokens of
    all three, and the budget's tokens include the speech tokens."""
    dealership_id, conversation_id, (first, _, _) = await _reply(uow)

    def speech(kind: UsageKind, message_id: uuid.UUID | None, seconds: float) -> UsageRecord:
        return msgspec.structs.replace(
            _record(dealership_id, conversation_id, first, DAY_ONE, prompt=0, completion=0),
            conversation_id=conversation_id if message_id else None,
            message_id=message_id,
            model="memory",
            kind=kind,
            speech_seconds=seconds,
            speech_tokens=round(seconds * 50),
        )

    async with uow() as work:
        await work.usage.add(_record(dealership_id, conversation_id, first, DAY_ONE))
        await work.usage.add(speech(UsageKind.SYNTHESIS, first, 2.5))
        await work.usage.add(speech(UsageKind.SYNTHESIS, first, 1.5))
        await work.usage.add(speech(UsageKind.TRANSCRIPTION, None, 4.0))
        await work.commit()
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    async with uow(read_only=True) as work:
        days = await work.usage.days(dealership_id=dealership_id, start=start, end=end)
        tokens = await work.usage.tokens(dealership_id=dealership_id, start=start, end=end)
    assert days == [
        UsageDay(
            day=date(2025, 3, 30),
            model_calls=1,
            cached_answers=0,
            prompt_tokens=100,
            completion_tokens=20,
            speech_seconds=8.0,
            speech_tokens=400,
        )
    ]
    assert tokens == 120 + 400


async def test_an_alert_is_claimed_once_per_dealership_period_and_threshold(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    march, april = date(2025, 3, 1), date(2025, 4, 1)

    async def claim(period: date, threshold: int) -> bool:
        async with uow() as work:
            claimed = await work.usage.claim_alert(
                dealership_id=d.id, period=period, threshold=threshold, now=DAY_ONE
            )
            await work.commit()
            return claimed

    assert await claim(march, 80)
    assert not await claim(march, 80)
    assert await claim(march, 100)
    assert await claim(april, 80)
    async with uow() as work:  # rolled back: not claimed
        assert await work.usage.claim_alert(
            dealership_id=d.id, period=date(2025, 5, 1), threshold=80, now=DAY_ONE
        )
    assert await claim(date(2025, 5, 1), 80)


async def test_a_dealership_keeps_its_budget_override_until_cleared(
    uow: UnitOfWorkFactory,
) -> None:
    d = msgspec.structs.replace(dealership(), monthly_token_budget=5000)
    async with uow() as work:
        await work.dealerships.add(d)
        await work.commit()
    async with uow() as work:
        stored = await work.dealerships.get(d.id)
        assert stored is not None
        assert stored.monthly_token_budget == 5000
        await work.dealerships.update(msgspec.structs.replace(stored, monthly_token_budget=None))
        await work.commit()
    async with uow(read_only=True) as work:
        cleared = await work.dealerships.get(d.id)
    assert cleared is not None
    assert cleared.monthly_token_budget is None


# ---- the budget ledger ----------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[BudgetLedger]:
    if request.param == "memory":
        yield InMemoryBudgetLedger(SystemClock())
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisBudgetLedger(client, key_prefix=f"test:budget:{uuid.uuid4().hex}:")
    await client.aclose()


async def test_a_missing_counter_asks_for_a_seed_then_holds_from_it(ledger: BudgetLedger) -> None:
    assert await ledger.reserve("d:2025-03", 10, 100, seed=None, ttl_s=60) is None
    assert await ledger.reserve("d:2025-03", 10, 100, seed=70, ttl_s=60) == BudgetHold(
        allowed=True, used=70, reserved=10
    )
    # A later seed does not overwrite the live counter.
    assert await ledger.reserve("d:2025-03", 10, 100, seed=0, ttl_s=60) == BudgetHold(
        allowed=True, used=70, reserved=20
    )
    assert await ledger.reserve("d:2025-03", 11, 100, seed=None, ttl_s=60) == BudgetHold(
        allowed=False, used=70, reserved=20
    )


async def test_settling_replaces_the_hold_by_what_was_spent(ledger: BudgetLedger) -> None:
    await ledger.reserve("k", 50, 100, seed=0, ttl_s=60)
    assert await ledger.settle("k", reserved=50, spent=30) == 30
    assert (await ledger.reserve("k", 70, 100, seed=None, ttl_s=60)) == BudgetHold(
        allowed=True, used=30, reserved=70
    )
    assert await ledger.settle("k", reserved=70, spent=0) == 30  # released
    assert await ledger.settle("k", reserved=0, spent=-30) == 0  # taken back
    assert await ledger.settle("missing", reserved=1, spent=1) is None


async def test_concurrent_holds_never_exceed_the_budget(ledger: BudgetLedger) -> None:
    await ledger.reserve("k", 0, 300, seed=0, ttl_s=60)

    holds = await asyncio.gather(
        *(ledger.reserve("k", 7, 300, seed=None, ttl_s=60) for _ in range(60))
    )

    assert sum(1 for h in holds if h is not None and h.allowed) == 300 // 7


async def test_an_unreachable_redis_raises_dependency_unavailable() -> None:
    client = Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    ledger = RedisBudgetLedger(client)
    with pytest.raises(DependencyUnavailable):
        await ledger.reserve("k", 1, 10, seed=0, ttl_s=60)
    with pytest.raises(DependencyUnavailable):
        await ledger.settle("k", reserved=1, spent=1)
    await client.aclose()
