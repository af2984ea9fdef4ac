"""Usage recording and monthly token budgets in the chat use case, on the in-memory
adapters: one record per reply in the reply's own transaction, holds settled to what
the model reported, refusals with a Retry-After at the next month, alerts once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime

import msgspec
import pytest

from avataradam.adapters.memory.budget import InMemoryBudgetLedger
from avataradam.adapters.memory.identity import InMemoryAccountStates
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import BudgetExhausted, InvalidInput, PermissionDenied
from avataradam.domain.model import ConversationMode, Role, Topic, UsageRecord
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import (
    BudgetHold,
    ChatDelta,
    ChatModelUnavailable,
    ChatTurn,
    ChatUsage,
    Grounding,
)
from avataradam.domain.tasks import USAGE_BUDGET_THRESHOLD
from avataradam.domain.usecases.conversations.start import NewConversation
from avataradam.domain.usecases.dealerships import DealershipChanges, UpdateDealership
from avataradam.domain.usecases.usage import GetUsage, UsageBudget, next_period, period_start
from tests.support.world import chat_options
from tests.unit.test_conversations_usecases import GAP_PASSAGE, World

OPTIONS = chat_options(max_reply_tokens=10)


class MeteredModel:
    """Replies one sentence and reports the usage it is given; can fail."""

    name = "metered"
    generative = True

    def __init__(self, prompt_tokens: int = 50, completion_tokens: int = 2) -> None:
        self.usage = ChatUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        self.fail = False
        self.calls = 0

    async def stream(
        self,
        turns: Sequence[ChatTurn],  # noqa: ARG002 -- the port's signature
        *,
        max_tokens: int,  # noqa: ARG002 -- the port's signature
        grounding: Grounding | None = None,  # noqa: ARG002 -- the port's signature
        reply_format: object = None,  # noqa: ARG002 -- the port's signature
        temperature: float | None = None,  # noqa: ARG002 -- the port's signature
    ) -> AsyncIterator[ChatDelta]:
        self.calls += 1
        if self.fail:
            raise ChatModelUnavailable("model down")
        yield ChatDelta(text="GAP pays the loan gap [1].")
        yield ChatDelta(text="", usage=self.usage)


class RecordingLedger(InMemoryBudgetLedger):
    """Remembers the amounts held; `forget` drops every counter (Redis data lost)."""

    def __init__(self) -> None:
        super().__init__(SystemClock())
        self.amounts: list[int] = []

    async def reserve(
        self, key: str, amount: int, budget: int, *, seed: int | None, ttl_s: int
    ) -> BudgetHold | None:
        self.amounts.append(amount)
        return await super().reserve(key, amount, budget, seed=seed, ttl_s=ttl_s)

    def forget(self) -> None:
        self._counters.clear()


class Setup:
    def __init__(self, model: MeteredModel, budget: int, *, answer_cache: bool = False) -> None:
        self.ledger = RecordingLedger()
        self.telemetry = InMemoryTelemetry()

        def usage_budget(uow: UnitOfWorkFactory) -> UsageBudget:
            return UsageBudget(
                uow,
                self.ledger,
                SystemClock(),
                UuidGenerator(),
                self.telemetry,
                default_budget=budget,
            )

        self.world = World(model, OPTIONS, answer_cache=answer_cache, budget=usage_budget)
        self.model = model

    async def trainee(self, *, material: bool = True) -> tuple[uuid.UUID, Principal]:
        dealership = await self.world.dealership()
        if material:
            await self.world.document(dealership, GAP_PASSAGE, Topic.PRODUCT_KNOWLEDGE)
        return dealership, await self.world.user(dealership)

    async def ask(self, trainee: Principal, text: str = "What does GAP pay?") -> object:
        conversation = await self.world.start(
            trainee, NewConversation(mode=ConversationMode.TRAINING)
        )
        return await self.world.send(trainee, conversation.id, text)

    def records(self) -> list[UsageRecord]:
        return sorted(self.world.store.tables.usage_records.values(), key=lambda r: r.created_at)

    def threshold_events(self) -> list[dict[str, object]]:
        return [
            dict(e.message.payload())
            for e in self.world.store.tables.outbox.values()
            if e.message.payload().get("type") == USAGE_BUDGET_THRESHOLD
        ]


async def hold_size(text: str = "What does GAP pay?") -> int:
    """What a first question holds (prompt estimate + max reply tokens)."""
    probe = Setup(MeteredModel(), budget=10**9)
    _, trainee = await probe.trainee()
    await probe.ask(trainee, text)
    return probe.ledger.amounts[-1]


async def test_a_reply_records_its_usage_in_the_same_commit_as_its_messages() -> None:
    setup = Setup(MeteredModel(prompt_tokens=50, completion_tokens=2), budget=0)
    dealership, trainee = await setup.trainee()
    conversation = await setup.world.start(trainee, NewConversation(mode=ConversationMode.TRAINING))
    commits = setup.world.store.commits

    done = await setup.world.send(trainee, conversation.id, "What does GAP pay?")

    assert setup.world.store.commits == commits + 1
    [record] = setup.records()
    assert (record.message_id, record.conversation_id) == (done.message.id, conversation.id)
    assert (record.dealership_id, record.model) == (dealership, "metered")
    assert (record.prompt_tokens, record.completion_tokens, record.cached) == (50, 2, False)
    assert record.latency_ms >= 0
    assert setup.ledger.amounts == []  # unlimited: no counter is touched


async def test_a_refusal_without_material_asks_no_model_and_records_nothing() -> None:
    setup = Setup(MeteredModel(), budget=1)
    _, trainee = await setup.trainee(material=False)

    await setup.ask(trainee)

    assert setup.model.calls == 0
    assert setup.records() == []
    assert setup.ledger.amounts == []  # not refused either: it costs nothing


async def test_a_cached_answer_is_recorded_as_a_call_of_zero_tokens() -> None:
    setup = Setup(MeteredModel(), budget=10**9, answer_cache=True)
    dealership, trainee = await setup.trainee()

    await setup.ask(trainee)
    await setup.ask(trainee)

    assert setup.model.calls == 1
    first, second = setup.records()
    assert (first.cached, first.prompt_tokens + first.completion_tokens) == (False, 52)
    assert (second.cached, second.prompt_tokens, second.completion_tokens) == (True, 0, 0)
    used = await setup.ledger.settle(
        f"{dealership}:{period_start(datetime.now(UTC)):%Y-%m}", reserved=0, spent=0
    )
    assert used == 52


async def test_a_budget_admits_while_the_hold_fits_then_refuses_until_next_month() -> None:
    held = await hold_size()
    setup = Setup(MeteredModel(prompt_tokens=50, completion_tokens=2), budget=held)
    _, trainee = await setup.trainee()

    await setup.ask(trainee)  # 0 spent + `held` <= budget
    with pytest.raises(BudgetExhausted) as refused:
        await setup.ask(trainee)  # 52 spent + `held` > budget
    with pytest.raises(BudgetExhausted):
        await setup.ask(trainee)

    assert setup.model.calls == 1
    assert len(setup.records()) == 1
    error = refused.value
    now = datetime.now(UTC)
    resets_at = datetime.combine(next_period(period_start(now)), datetime.min.time(), UTC)
    assert abs(error.retry_after_s - (resets_at - now).total_seconds()) < 60
    assert error.details == {
        "budget": held,
        "remaining": held - 52,
        "required": held,
        "resets_at": resets_at.isoformat(),
    }
    [event] = setup.threshold_events()  # once, though refused twice
    assert (event["threshold"], event["used_tokens"]) == ("100", "52")
    assert setup.telemetry.budget_refusals == 2
    assert setup.telemetry.budget_alerts == [100]


async def test_spending_80_percent_raises_its_alert_once_with_the_reply() -> None:
    held = await hold_size()
    budget = 2 * held
    spent = int(0.85 * budget)
    setup = Setup(MeteredModel(prompt_tokens=spent, completion_tokens=0), budget=budget)
    dealership, trainee = await setup.trainee()

    await setup.ask(trainee)

    [event] = setup.threshold_events()
    assert event["threshold"] == "80"
    assert event["dealership_id"] == str(dealership)
    assert (event["monthly_token_budget"], event["used_tokens"]) == (str(budget), str(spent))
    with pytest.raises(BudgetExhausted):
        await setup.ask(trainee)
    assert sorted(str(e["threshold"]) for e in setup.threshold_events()) == ["100", "80"]


async def test_a_failed_reply_gives_its_hold_back() -> None:
    held = await hold_size()
    model = MeteredModel()
    setup = Setup(model, budget=held)
    _, trainee = await setup.trainee()
    model.fail = True

    with pytest.raises(ChatModelUnavailable):
        await setup.ask(trainee)
    model.fail = False
    await setup.ask(trainee)  # the whole budget is free again

    assert len(setup.records()) == 1


async def test_a_lost_counter_is_rebuilt_from_the_recorded_usage() -> None:
    held = await hold_size()
    setup = Setup(MeteredModel(prompt_tokens=50, completion_tokens=2), budget=held + 51)
    _, trainee = await setup.trainee()
    await setup.ask(trainee)

    setup.ledger.forget()

    with pytest.raises(BudgetExhausted):  # 52 recorded + held > held + 51
        await setup.ask(trainee)


async def test_a_dealerships_own_budget_overrides_the_default() -> None:
    held = await hold_size()
    setup = Setup(MeteredModel(), budget=held)
    dealership, trainee = await setup.trainee()
    root = Principal(user_id=uuid.uuid4(), role=Role.SUPER_ADMIN, dealership_id=None)
    update = UpdateDealership(
        setup.world.uow, SystemClock(), InMemoryAccountStates(setup.world.store)
    )

    await update(root, dealership, DealershipChanges(monthly_token_budget=0))  # unlimited
    for _ in range(3):
        await setup.ask(trainee)
    await update(root, dealership, DealershipChanges(monthly_token_budget=held))
    with pytest.raises(BudgetExhausted):
        await setup.ask(trainee)
    updated = await update(root, dealership, DealershipChanges(monthly_token_budget=None))
    assert updated.monthly_token_budget is None
    with pytest.raises(InvalidInput):
        await update(root, dealership, DealershipChanges(monthly_token_budget=-1))
    renamed = await update(root, dealership, DealershipChanges(name="Renamed"))
    assert renamed.monthly_token_budget is None


async def test_replies_while_unlimited_count_against_a_budget_set_later_in_the_month() -> None:
    held = await hold_size()
    setup = Setup(MeteredModel(prompt_tokens=50, completion_tokens=2), budget=held)
    dealership, trainee = await setup.trainee()
    root = Principal(user_id=uuid.uuid4(), role=Role.SUPER_ADMIN, dealership_id=None)
    update = UpdateDealership(
        setup.world.uow, SystemClock(), InMemoryAccountStates(setup.world.store)
    )
    await setup.ask(trainee)  # creates the month's counter: 52 spent
    await update(root, dealership, DealershipChanges(monthly_token_budget=0))  # unlimited
    await setup.ask(trainee)  # 104 spent, no hold
    await update(root, dealership, DealershipChanges(monthly_token_budget=104 + held))

    await setup.ask(trainee)  # 104 + held fits exactly
    with pytest.raises(BudgetExhausted):  # 156 + held does not
        await setup.ask(trainee)

    assert setup.model.calls == 3


async def test_usage_report_lists_every_day_with_the_budget_left() -> None:
    setup = Setup(MeteredModel(prompt_tokens=50, completion_tokens=2), budget=10**6)
    dealership, trainee = await setup.trainee()
    await setup.ask(trainee)
    admin = await setup.world.user(dealership, Role.DEALERSHIP_ADMIN)
    assert setup.world.budget is not None
    report_of = GetUsage(setup.world.uow, setup.world.budget, SystemClock())
    today = datetime.now(UTC).date()
    start = date.fromordinal(today.toordinal() - 2)

    report = await report_of(admin, start=start, end=today)

    assert [d.day for d in report.days] == [
        date.fromordinal(start.toordinal() + n) for n in range(3)
    ]
    assert [(d.model_calls, d.prompt_tokens, d.completion_tokens) for d in report.days] == [
        (0, 0, 0),
        (0, 0, 0),
        (1, 50, 2),
    ]
    assert report.budget.monthly_token_budget == 10**6
    assert (report.budget.used_tokens, report.budget.remaining_tokens) == (52, 10**6 - 52)
    with pytest.raises(InvalidInput):
        await report_of(admin, start=today, end=start)
    with pytest.raises(InvalidInput):
        await report_of(admin, start=date(2000, 1, 1), end=today)
    with pytest.raises(PermissionDenied):
        await report_of(trainee, start=start, end=today)


async def test_unlimited_reports_no_budget() -> None:
    setup = Setup(MeteredModel(), budget=0)
    dealership, _ = await setup.trainee()
    admin = await setup.world.user(dealership, Role.DEALERSHIP_ADMIN)
    assert setup.world.budget is not None

    report = await GetUsage(setup.world.uow, setup.world.budget, SystemClock())(admin)

    assert report.start == period_start(datetime.now(UTC))
    assert msgspec.structs.astuple(report.budget)[0] is None
    assert report.budget.remaining_tokens is None
