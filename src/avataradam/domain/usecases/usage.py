"""Usage and monthly token budgets per dealership.

Recording. Every reply that called the model, or was served from the answer cache, is
recorded as one `UsageRecord` (model, prompt/completion tokens as the model reported
them, latency, cached) in the same transaction as the reply (`SendMessage`), so usage
is never lost nor counted twice. A refusal because nothing relevant was found makes no
model call and records nothing. Cached answers count 0 tokens.

Budgets. A dealership may spend `budget` prompt plus completion tokens per calendar
month (UTC): its own `monthly_token_budget` if a super admin set one, else the
service's default; 0 is unlimited. Before the model is called, the reply holds
`prompt estimate + max reply tokens` in a counter shared by every instance
(`BudgetLedger`, atomic): the hold is refused, with `BudgetExhausted` (HTTP 429,
`Retry-After` at the next month), when the month's spent plus held tokens plus this
hold would exceed the budget. After the reply the hold is settled to the tokens the
model reported (released when the reply fails). The counter is rebuilt from the sum
of the month's usage records when it is missing.

Known limits. An API process killed while a reply is being written never settles its
hold: the hold stays counted until the month's counter expires (stricter, never
overspent; at most one hold per killed reply). A rebuild after Redis lost its data
may miss the usage of replies being stored at that very moment.

Alerts. When a settlement brings the month's spending to 80 % of the budget, and when
the budget is exhausted (spent reaches 100 % or a reply is refused), a
`usage.budget_threshold` webhook event is recorded in the outbox: once per dealership,
month and threshold, whichever instance gets there first (a PostgreSQL row decides).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.day_ranges import require_day_range
from avataradam.domain.errors import BudgetExhausted, DomainError, NotFound
from avataradam.domain.model import (
    Dealership,
    OutboxEntry,
    Role,
    UsageBudgetThreshold,
    UsageDay,
)
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import BudgetLedger, Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator

THRESHOLDS = (80, 100)
"""Percentages of the monthly budget that raise a `usage.budget_threshold` event."""
MAX_REPORT_DAYS = 366
_COUNTER_SLACK_S = 86_400
"""A month's counter outlives the month by a day: late settlements still find it."""


def _counter_key(dealership_id: UUID, period: date) -> str:
    """The shared counter of a dealership's month."""
    return f"{dealership_id}:{period:%Y-%m}"


def period_start(moment: datetime) -> date:
    """The first day of `moment`'s calendar month, UTC."""
    return moment.astimezone(UTC).date().replace(day=1)


def next_period(period: date) -> date:
    days = calendar.monthrange(period.year, period.month)[1]
    return period + timedelta(days=days)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens held for one reply in a dealership's month."""

    dealership_id: UUID
    period: date
    key: str
    amount: int
    budget: int


class UsageBudget:
    """Holds, settles and alerts on dealerships' monthly token budgets (module docstring)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        ledger: BudgetLedger,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        *,
        default_budget: int,
    ) -> None:
        if default_budget < 0:
            raise ValueError("default_budget must be >= 0")
        self._uow, self._ledger, self._clock = uow, ledger, clock
        self._ids, self._telemetry = ids, telemetry
        self.default_budget = default_budget

    def budget_of(self, dealership: Dealership) -> int:
        """Tokens per month; 0 = unlimited."""
        if dealership.monthly_token_budget is not None:
            return dealership.monthly_token_budget
        return self.default_budget

    async def hold(self, dealership: Dealership, amount: int) -> Hold | None:
        """Holds `amount` tokens of the dealership's month; None when it has no budget.

        Raises BudgetExhausted when the budget cannot cover them, DependencyUnavailable
        when the shared counter cannot be reached.
        """
        budget = self.budget_of(dealership)
        if budget == 0:
            return None
        now = self._clock.now()
        period = period_start(now)
        resets_at = _midnight(next_period(period))
        key = _counter_key(dealership.id, period)
        ttl_s = int((resets_at - now).total_seconds()) + _COUNTER_SLACK_S
        decision = await self._ledger.reserve(key, amount, budget, seed=None, ttl_s=ttl_s)
        if decision is None:
            async with self._uow() as uow:
                spent = await uow.usage.tokens(
                    dealership_id=dealership.id, start=_midnight(period), end=resets_at
                )
            decision = await self._ledger.reserve(key, amount, budget, seed=spent, ttl_s=ttl_s)
            if decision is None:  # pragma: no cover - a seeded reserve always finds it
                raise RuntimeError("budget counter missing after seeding")
        if not decision.allowed:
            self._telemetry.budget_refused()
            await self._alert_exhausted(dealership.id, period, budget, decision.used)
            remaining = max(budget - decision.used - decision.reserved, 0)
            raise BudgetExhausted(
                f"the dealership's monthly token budget ({budget} tokens) cannot cover this "
                f"reply (up to {amount} tokens, {remaining} left); it resets at "
                f"{resets_at.isoformat()}",
                retry_after_s=(resets_at - now).total_seconds(),
                budget=budget,
                remaining=remaining,
                required=amount,
                resets_at=resets_at.isoformat(),
            )
        return Hold(
            dealership_id=dealership.id, period=period, key=key, amount=amount, budget=budget
        )

    async def count_unheld(self, dealership_id: UUID, spent: int) -> None:
        """Adds `spent` tokens of a reply made without a hold (its dealership had no
        budget) to the month's shared counter if one exists, so that a budget set later in
        the month starts from what was really spent. Without a counter there is nothing
        to do: the first hold seeds it from the usage records. A counter that cannot be
        reached is reported (`usage_budget_count_failed`), never fails the reply."""
        if spent <= 0:
            return
        key = _counter_key(dealership_id, period_start(self._clock.now()))
        try:
            await self._ledger.settle(key, reserved=0, spent=spent)
        except DomainError as exc:
            self._telemetry.event("usage_budget_count_failed", code=exc.code, tokens=spent)

    async def settle(self, hold: Hold, spent: int) -> int | None:
        """Releases the hold and counts `spent` tokens; the month's spent tokens after,
        None when the counter is gone (it will be rebuilt from the usage records)."""
        return await self._ledger.settle(hold.key, reserved=hold.amount, spent=spent)

    async def release(self, hold: Hold) -> None:
        """Gives back a hold whose reply failed (nothing was recorded)."""
        await self._ledger.settle(hold.key, reserved=hold.amount, spent=0)

    async def take_back(self, hold: Hold, spent: int) -> None:
        """Undoes a settlement whose usage record could not be stored."""
        await self._ledger.settle(hold.key, reserved=0, spent=-spent)

    async def record_alerts(self, uow: UnitOfWork, hold: Hold, used: int | None) -> list[int]:
        """In the caller's transaction: the thresholds that `used` reaches and that were
        not raised yet this month, each with its outbox event. Returns them."""
        if used is None:
            return []
        # In order, each claimed at most once: a threshold already raised is skipped.
        return [
            threshold
            for threshold in THRESHOLDS
            if used * 100 >= threshold * hold.budget
            and await self._claim(
                uow, hold.dealership_id, hold.period, threshold, hold.budget, used
            )
        ]

    def alerts_raised(self, dealership_id: UUID, thresholds: list[int]) -> None:
        """Reports alerts once their transaction committed."""
        for threshold in thresholds:
            self._telemetry.budget_alert(threshold)
            self._telemetry.event(
                "usage_budget_threshold", dealership_id=str(dealership_id), threshold=threshold
            )

    async def _alert_exhausted(
        self, dealership_id: UUID, period: date, budget: int, used: int
    ) -> None:
        async with self._uow() as uow:
            raised = await self._claim(uow, dealership_id, period, 100, budget, used)
            if raised:
                await uow.commit()
        if raised:
            self.alerts_raised(dealership_id, [100])

    async def _claim(
        self,
        uow: UnitOfWork,
        dealership_id: UUID,
        period: date,
        threshold: int,
        budget: int,
        used: int,
    ) -> bool:
        now = self._clock.now()
        if not await uow.usage.claim_alert(
            dealership_id=dealership_id, period=period, threshold=threshold, now=now
        ):
            return False
        event = UsageBudgetThreshold(
            dealership_id=dealership_id,
            occurred_at=now,
            threshold=threshold,
            period=f"{period:%Y-%m}",
            monthly_token_budget=budget,
            used_tokens=used,
        )
        await uow.outbox.add(
            OutboxEntry(id=self._ids.new_id(), message=event, created_at=now, available_at=now)
        )
        return True


class BudgetState(msgspec.Struct, frozen=True, kw_only=True):
    """The dealership's budget in the current month (UTC)."""

    monthly_token_budget: int | None
    """None = unlimited."""
    period_start: date
    resets_at: datetime
    used_tokens: int
    """Prompt plus completion tokens recorded this month."""
    remaining_tokens: int | None
    """None = unlimited."""


class UsageReport(msgspec.Struct, frozen=True, kw_only=True):
    dealership_id: UUID
    start: date
    end: date
    """Inclusive."""
    days: list[UsageDay]
    """Every day from `start` to `end`, zeros included, oldest first."""
    budget: BudgetState


class GetUsage:
    """A dealership's usage per day and its budget; dealership admins (their own) and
    super admins (naming the dealership)."""

    def __init__(self, uow: UnitOfWorkFactory, budget: UsageBudget, clock: Clock) -> None:
        self._uow, self._budget, self._clock = uow, budget, clock

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> UsageReport:
        """Days `start`..`end` inclusive (UTC; default the current month to today).

        Raises InvalidInput when `start` is after `end` or the range exceeds
        `MAX_REPORT_DAYS`, NotFound for an unknown dealership.
        """
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        now = self._clock.now()
        today = now.astimezone(UTC).date()
        end = end or today
        start = start or min(period_start(now), end)
        require_day_range(start, end, max_days=MAX_REPORT_DAYS)
        period = period_start(now)
        resets_at = _midnight(next_period(period))
        async with self._uow(read_only=True) as uow:
            dealership = await uow.dealerships.get(scope)
            if dealership is None:
                raise NotFound("dealership not found")
            recorded = await uow.usage.days(
                dealership_id=scope, start=_midnight(start), end=_midnight(end + timedelta(1))
            )
            used = await uow.usage.tokens(
                dealership_id=scope, start=_midnight(period), end=resets_at
            )
        by_day = {day.day: day for day in recorded}
        days = [
            by_day.get(day)
            or UsageDay(
                day=day,
                model_calls=0,
                cached_answers=0,
                prompt_tokens=0,
                completion_tokens=0,
                speech_seconds=0.0,
            )
            for day in (start + timedelta(n) for n in range((end - start).days + 1))
        ]
        budget = self._budget.budget_of(dealership)
        return UsageReport(
            dealership_id=scope,
            start=start,
            end=end,
            days=days,
            budget=BudgetState(
                monthly_token_budget=budget or None,
                period_start=period,
                resets_at=resets_at,
                used_tokens=used,
                remaining_tokens=max(budget - used, 0) if budget else None,
            ),
        )
