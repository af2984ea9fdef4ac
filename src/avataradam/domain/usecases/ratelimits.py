"""Rate-limit policies applied to a request: per user per route class, per dealership,
and sign-in attempts per email and client address (brute-force guard)."""

from __future__ import annotations

import msgspec

from avataradam.domain.access import Principal
from avataradam.domain.errors import RateLimited
from avataradam.domain.ports.services import RateDecision, RateLimiter, RatePolicy, Telemetry


class RateLimitExceeded(RateLimited):
    """Carries the refusing decision, so the answer can advertise the policy state."""

    def __init__(self, message: str, *, decision: RateDecision) -> None:
        super().__init__(message, retry_after_s=decision.retry_after_s, policy=decision.policy.name)
        self.decision = decision


class RatePolicies(msgspec.Struct, frozen=True, kw_only=True):
    """Per-user policies by route class, the shared dealership policy, the login policy."""

    per_user: dict[str, RatePolicy]
    per_dealership: RatePolicy | None
    login: RatePolicy | None


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

    async def for_login(self, email: str, client: str) -> list[RateDecision]:
        policy = self._policies.login
        if policy is None:
            return []
        return await self._decide([(policy, f"{email.strip().lower()}|{client}")])

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
