"""`EnforceRateLimits`: every policy of a request decided together, all or nothing."""

from __future__ import annotations

import uuid

import pytest

from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.domain.access import Principal
from avataradam.domain.model import Role
from avataradam.domain.ports.services import RatePolicy
from avataradam.domain.usecases.ratelimits import (
    EnforceRateLimits,
    RateLimitExceeded,
    RatePolicies,
)
from tests.support.fakes import ManualClock

SEARCH = RatePolicy(name="search", limit=2, window_s=60, fail_open=True)
DEALERSHIP = RatePolicy(name="dealership", limit=3, window_s=60, fail_open=True)
LOGIN = RatePolicy(name="login", limit=1, window_s=60, fail_open=False)


def _enforce(telemetry: InMemoryTelemetry) -> EnforceRateLimits:
    policies = RatePolicies(per_user={"search": SEARCH}, per_dealership=DEALERSHIP, login=LOGIN)
    return EnforceRateLimits(InMemoryRateLimiter(ManualClock()), policies, telemetry)


def _user(dealership_id: uuid.UUID | None) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=dealership_id)


async def test_a_user_refused_by_their_own_limit_leaves_the_dealership_budget_alone() -> None:
    telemetry = InMemoryTelemetry()
    enforce = _enforce(telemetry)
    dealership = uuid.uuid4()
    greedy, colleague = _user(dealership), _user(dealership)

    await enforce.for_request("search", greedy)
    await enforce.for_request("search", greedy)
    for _ in range(3):
        with pytest.raises(RateLimitExceeded) as refused:
            await enforce.for_request("search", greedy)
        assert refused.value.decision.policy == SEARCH

    decisions = await enforce.for_request("search", colleague)
    assert [(d.policy.name, d.remaining) for d in decisions] == [
        ("search", 1),
        ("dealership", 0),
    ]
    assert telemetry.rate_limits.count(("search", "rejected")) == 3
    assert ("dealership", "rejected") not in telemetry.rate_limits


async def test_the_dealership_refusal_names_the_shared_policy_and_consumes_nothing() -> None:
    telemetry = InMemoryTelemetry()
    enforce = _enforce(telemetry)
    dealership = uuid.uuid4()
    for _ in range(3):
        await enforce.for_request("search", _user(dealership))
    late = _user(dealership)

    with pytest.raises(RateLimitExceeded) as refused:
        await enforce.for_request("search", late)

    assert refused.value.decision.policy == DEALERSHIP
    assert refused.value.retry_after_s == pytest.approx(60)
    assert telemetry.rate_limits[-1] == ("dealership", "rejected")
    # A super admin has no dealership: only the per-user policy applies.
    decisions = await enforce.for_request("search", _user(None))
    assert [d.policy.name for d in decisions] == ["search"]


async def test_unlimited_route_classes_and_a_missing_login_policy_decide_nothing() -> None:
    telemetry = InMemoryTelemetry()
    limiter = InMemoryRateLimiter(ManualClock())
    enforce = EnforceRateLimits(
        limiter, RatePolicies(per_user={}, per_dealership=None, login=None), telemetry
    )

    assert await enforce.for_request("chat", _user(uuid.uuid4())) == []
    assert await enforce.for_login("a@example.com", "127.0.0.1") == []
    assert telemetry.rate_limits == []


async def test_sign_in_attempts_are_keyed_by_normalised_email_and_client() -> None:
    enforce = _enforce(InMemoryTelemetry())

    await enforce.for_login("Adam@Example.com ", "10.0.0.1")
    with pytest.raises(RateLimitExceeded):
        await enforce.for_login("adam@example.com", "10.0.0.1")
    assert (await enforce.for_login("adam@example.com", "10.0.0.2"))[0].allowed
