"""Dealership management (super admins only)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, require_role
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import Dealership, Role
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.usecases.auth import end_sessions


class DealershipChanges(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    active: bool | None = None
    monthly_token_budget: int | msgspec.UnsetType | None = msgspec.UNSET
    """Tokens per month (0 = unlimited), None for the service default, UNSET to keep."""
    leaderboard_enabled: bool | None = None
    """Opts the dealership in to (or out of) the leaderboard; None keeps it."""


MAX_DEALERSHIP_NAME_CHARS = 200


def _valid_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_DEALERSHIP_NAME_CHARS:
        raise InvalidInput(
            f"name must be 1 to {MAX_DEALERSHIP_NAME_CHARS} characters, not counting leading "
            "and trailing whitespace",
            field="name",
        )
    return name


class CreateDealership:
    """A new tenant. With an idempotency key (the caller's own), repeats replay the
    first answer instead of creating another dealership."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(
        self, principal: Principal, name: str, *, idempotency_key: str | None = None
    ) -> Answer[Dealership]:
        require_role(principal, Role.SUPER_ADMIN)
        request = IdempotentRequest.of(
            f"dealerships:{principal.user_id}", idempotency_key, {"name": name}
        )
        return await self._create(name, request)

    async def create(self, name: str) -> Dealership:
        """Creates without a principal: the operator's `create-dealership` path."""
        return (await self._create(name, None)).value

    async def _create(self, name: str, request: IdempotentRequest | None) -> Answer[Dealership]:
        now = self._clock.now()
        dealership = Dealership(
            id=self._ids.new_id(),
            name=_valid_name(name),
            active=True,
            knowledge_base_generation=0,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            replay = await first_answer(uow, request, dealership, status_code=201, now=now)
            if replay is not None:
                return replay
            await uow.dealerships.add(dealership)
            await uow.commit()
        return Answer(value=dealership)


class GetDealership:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, principal: Principal, dealership_id: UUID) -> Dealership:
        require_role(principal, Role.SUPER_ADMIN)
        async with self._uow(read_only=True) as uow:
            dealership = await uow.dealerships.get(dealership_id)
        if dealership is None:
            raise NotFound("dealership not found")
        return dealership


class ListDealerships:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, *, cursor: Cursor | None, limit: int
    ) -> list[Dealership]:
        require_role(principal, Role.SUPER_ADMIN)
        async with self._uow(read_only=True) as uow:
            return await uow.dealerships.list_page(cursor=cursor, limit=limit)


class UpdateDealership:
    """Renames, deactivates (DELETE) or reactivates a dealership, sets its own
    monthly token budget, or opts it in to the leaderboard. Raises InvalidInput for a
    negative budget.

    A deactivation ends every session of every user of the dealership (`end_sessions`);
    a reactivation brings none back: its users sign in again.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, accounts: AccountStates) -> None:
        self._uow, self._clock, self._accounts = uow, clock, accounts

    async def __call__(
        self, principal: Principal, dealership_id: UUID, changes: DealershipChanges
    ) -> Dealership:
        require_role(principal, Role.SUPER_ADMIN)
        async with self._uow() as uow:
            current = await uow.dealerships.get(dealership_id)
            if current is None:
                raise NotFound("dealership not found")
            budget = changes.monthly_token_budget
            if isinstance(budget, int) and budget < 0:
                raise InvalidInput(
                    "monthly_token_budget must be >= 0 (0 = unlimited)",
                    field="monthly_token_budget",
                )
            updated = msgspec.structs.replace(
                current,
                monthly_token_budget=current.monthly_token_budget
                if budget is msgspec.UNSET
                else budget,
                name=_valid_name(changes.name) if changes.name is not None else current.name,
                active=changes.active if changes.active is not None else current.active,
                leaderboard_enabled=current.leaderboard_enabled
                if changes.leaderboard_enabled is None
                else changes.leaderboard_enabled,
                updated_at=self._clock.now(),
            )
            await uow.dealerships.update(updated)
            ended: list[UUID] = []
            if current.active and not updated.active:
                ended = await end_sessions(uow, updated.updated_at, dealership_id=dealership_id)
            await uow.commit()
        if current.active != updated.active:
            await self._accounts.changed(user_ids=ended, dealership_id=dealership_id)
        return updated
