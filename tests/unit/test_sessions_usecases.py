"""Use cases of sessions on the in-memory adapters: `Authenticate` judges a token by the
account as it is now, and the password-check guard counts failures only."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt
import msgspec
import pytest

from avataradam.adapters.memory.identity import InMemoryAccountStates
from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.errors import AuthenticationFailed, DependencyUnavailable, SessionEnded
from avataradam.domain.model import Dealership, Role, User
from avataradam.domain.ports.services import RatePolicy
from avataradam.domain.usecases.auth import Authenticate, TokenIssuer, end_sessions
from avataradam.domain.usecases.ratelimits import (
    EnforceRateLimits,
    RateLimitExceeded,
    RatePolicies,
)
from tests.support.fakes import ManualClock

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Stack:
    def __init__(self) -> None:
        self.uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        self.tokens = JwtTokenService(
            secret="s" * 40, algorithm="HS256", issuer="i", audience="a", access_ttl_s=900
        )
        self.issuer = TokenIssuer(self.tokens, SystemClock(), UuidGenerator(), 3600)
        self.authenticate = Authenticate(self.tokens, InMemoryAccountStates(self.uow.store))
        self.dealership = Dealership(
            id=uuid.uuid4(),
            name="D",
            active=True,
            knowledge_base_generation=0,
            created_at=NOW,
            updated_at=NOW,
        )
        self.user = User(
            id=uuid.uuid4(),
            email="u@example.com",
            password_hash="x",
            role=Role.DEALERSHIP_ADMIN,
            dealership_id=self.dealership.id,
            first_name=None,
            last_name=None,
            active=True,
            created_at=NOW,
            updated_at=NOW,
        )

    async def seed(self) -> str:
        async with self.uow() as uow:
            await uow.dealerships.add(self.dealership)
            await uow.users.add(self.user)
            pair = await self.issuer.issue(uow, self.user, family_id=None)
            await uow.commit()
        return pair.access_token


async def test_a_token_is_judged_by_the_role_the_account_has_now() -> None:
    stack = Stack()
    token = await stack.seed()
    assert (await stack.authenticate(token)).role is Role.DEALERSHIP_ADMIN
    async with stack.uow() as uow:
        await uow.users.update(msgspec.structs.replace(stack.user, role=Role.USER))
        await uow.commit()
    principal = await stack.authenticate(token)
    assert (principal.role, principal.dealership_id) == (Role.USER, stack.dealership.id)


@pytest.mark.parametrize("change", ["user_inactive", "dealership_inactive", "sessions_ended"])
async def test_a_token_of_an_ended_session_is_refused(change: str) -> None:
    stack = Stack()
    token = await stack.seed()
    async with stack.uow() as uow:
        if change == "user_inactive":
            await uow.users.update(msgspec.structs.replace(stack.user, active=False))
        elif change == "dealership_inactive":
            await uow.dealerships.update(msgspec.structs.replace(stack.dealership, active=False))
        else:
            await end_sessions(uow, NOW, user_id=stack.user.id)
        await uow.commit()
    with pytest.raises(SessionEnded):
        await stack.authenticate(token)


async def test_a_token_of_a_user_who_is_gone_is_refused() -> None:
    stack = Stack()
    token = await stack.seed()
    other = Stack()
    with pytest.raises(SessionEnded):
        await other.authenticate(other.tokens.issue(stack.tokens.verify(token)))


# ---- the guard -------------------------------------------------------------------------

LOGIN = RatePolicy(name="login", limit=2, window_s=60, fail_open=False)
ADDRESS = RatePolicy(name="login_address", limit=3, window_s=60, fail_open=False)


def _guard() -> EnforceRateLimits:
    policies = RatePolicies(per_user={}, per_dealership=None, login=LOGIN, login_address=ADDRESS)
    limiter = InMemoryRateLimiter(ManualClock(NOW))
    return EnforceRateLimits(limiter, policies, InMemoryTelemetry())


async def _check(guard: EnforceRateLimits, email: str, outcome: Exception | None) -> list[int]:
    async with guard.password_check(email, "10.0.0.1") as check:
        if outcome is not None:
            raise outcome
    return [d.remaining for d in check.decisions]


async def test_a_successful_check_costs_nothing_and_says_so() -> None:
    guard = _guard()
    for _ in range(5):
        assert await _check(guard, "a@example.com", None) == [2, 3]


async def test_only_counted_failures_spend_the_budget() -> None:
    guard = _guard()
    with pytest.raises(DependencyUnavailable):
        await _check(guard, "a@example.com", DependencyUnavailable("database down"))
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            await _check(guard, "a@example.com", AuthenticationFailed("wrong"))
    with pytest.raises(RateLimitExceeded) as refused:
        await _check(guard, "a@example.com", None)
    assert refused.value.decision.policy == LOGIN


async def test_failures_for_other_emails_spend_the_address_budget() -> None:
    guard = _guard()
    for n in range(3):
        with pytest.raises(AuthenticationFailed):
            await _check(guard, f"guess-{n}@example.com", AuthenticationFailed("wrong"))
    with pytest.raises(RateLimitExceeded) as refused:
        await _check(guard, "someone-else@example.com", None)
    assert refused.value.decision.policy == ADDRESS


async def test_a_token_issued_before_session_versions_existed_belongs_to_version_0() -> None:
    stack = Stack()
    await stack.seed()
    claims = {
        "sub": str(stack.user.id),
        "role": "dealership_admin",
        "dealership_id": str(stack.dealership.id),
        "iss": "i",
        "aud": "a",
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
    }
    legacy = jwt.encode(claims, "s" * 40, algorithm="HS256")  # no "sv" claim
    assert (await stack.authenticate(legacy)).user_id == stack.user.id
    async with stack.uow() as uow:
        await end_sessions(uow, NOW, user_id=stack.user.id)
        await uow.commit()
    with pytest.raises(SessionEnded):
        await stack.authenticate(legacy)
