"""Rate-limit policies applied to a request: per user per route class, per dealership,
and failed password checks per email and client address and per client address (the
brute-force guard of sign-in and password change)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec

from avataradam.domain.access import Principal
from avataradam.domain.errors import AuthenticationFailed, RateLimited, WrongCurrentPassword
from avataradam.domain.ports.services import RateDecision, RateLimiter, RatePolicy, Telemetry


class RateLimitExceeded(RateLimited):
    """Carries the refusing decision, so the answer can advertise the policy state."""

    def __init__(self, message: str, *, decision: RateDecision) -> None:
        super().__init__(message, retry_after_s=decision.retry_after_s, policy=decision.policy.name)
        self.decision = decision


class RatePolicies(msgspec.Struct, frozen=True, kw_only=True):
    """Per-user policies by route class, the shared dealership policy, and the failed
    password checks per email + client address (`login`) and per address alone."""

    per_user: dict[str, RatePolicy]
    per_dealership: RatePolicy | None
    login: RatePolicy | None
    login_address: RatePolicy | None = None


COUNTED_FAILURES: tuple[type[Exception], ...] = (AuthenticationFailed, WrongCurrentPassword)
"""What a password check counts against the guard: a wrong email or password at
sign-in (also a deactivated account's), a wrong current password at a change."""


class PasswordCheck:
    """One guarded password check (see `EnforceRateLimits.password_check`); `decisions`
    are the guard's, as they stand once the check is over."""

    def __init__(self, decisions: list[RateDecision]) -> None:
        self.decisions = decisions


class EnforceRateLimits:
    """Consumes one request from every policy that applies; raises RateLimited if any
    refuses. Decisions are returned so the caller can advertise them (RateLimit headers).

    All policies of a request are decided together, all or nothing (one limiter call):
    a refused request consumes from none of them, so a user hammering past their own
    limit does not eat the dealership's shared budget.
    """

    def __init__(self, limiter: RateLimiter, policies: RatePolicies, telemetry: Telemetry) -> None:
        self._limiter, self._policies, self._telemetry = limiter, policies, telemetry

    async def for_request(self, route_class: str, principal: Principal) -> list[RateDecision]:
        hits: list[tuple[RatePolicy, str]] = []
        policy = self._policies.per_user.get(route_class)
        if policy is not None:
            hits.append((policy, f"user:{principal.user_id}"))
        shared = self._policies.per_dealership
        if shared is not None and principal.dealership_id is not None:
            hits.append((shared, f"dealership:{principal.dealership_id}"))
        return await self._decide(hits)

    def _login_hits(self, email: str, client: str) -> list[tuple[RatePolicy, str]]:
        hits = []
        if self._policies.login is not None:
            hits.append((self._policies.login, f"{email.strip().lower()}|{client}"))
        if self._policies.login_address is not None:
            hits.append((self._policies.login_address, client))
        return hits

    async def for_login(self, email: str, client: str) -> list[RateDecision]:
        """Consumes one attempt from the guard's policies (see `password_check`)."""
        return await self._decide(self._login_hits(email, client))

    @asynccontextmanager
    async def password_check(self, email: str, client: str) -> AsyncIterator[PasswordCheck]:
        """Guards the password check run inside the block.

        The attempt is taken from the budget of the email + address and of the address
        up front (raising RateLimitExceeded when either is spent, whatever the
        password), so concurrent guesses can never exceed it. It is given back when
        the block ends in anything but a counted failure (COUNTED_FAILURES): a
        successful sign-in, a malformed request or an outage costs nothing.
        """
        hits = self._login_hits(email, client)
        check = PasswordCheck(await self._decide(hits))
        try:
            yield check
        except COUNTED_FAILURES:
            raise
        except BaseException:
            await self._refund(hits, check)
            raise
        await self._refund(hits, check)

    async def _refund(self, hits: list[tuple[RatePolicy, str]], check: PasswordCheck) -> None:
        if not hits:
            return
        await self._limiter.refund(hits)
        check.decisions = [
            msgspec.structs.replace(d, remaining=min(d.remaining + 1, d.policy.limit))
            for d in check.decisions
        ]

    async def _decide(self, hits: list[tuple[RatePolicy, str]]) -> list[RateDecision]:
        if not hits:
            return []
        decisions = await self._limiter.hit_all(hits)
        refusing = [decision for decision in decisions if not decision.allowed]
        for decision in refusing or decisions:
            self._telemetry.rate_limit(
                decision.policy.name, "allowed" if decision.allowed else "rejected"
            )
        if refusing:
            # The longest wait is the one that lets the request through.
            decision = max(refusing, key=lambda d: d.retry_after_s)
            raise RateLimitExceeded(
                f"rate limit {decision.policy.name!r} exceeded: "
                f"{decision.policy.limit} per {decision.policy.window_s} s",
                decision=decision,
            )
        return decisions
