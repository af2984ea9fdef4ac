"""The wired application: ports, adapters and use cases built once by bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from avataradam.domain.ports.repositories import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher, TokenService
from avataradam.domain.usecases.auth import Login, Logout, Refresh, TokenIssuer
from avataradam.domain.usecases.dealerships import (
    CreateDealership,
    GetDealership,
    ListDealerships,
    UpdateDealership,
)
from avataradam.domain.usecases.users import CreateUser, GetUser, ListUsers, UpdateUser
from avataradam.entrypoints.settings import Settings

HealthCheck = Callable[[], Awaitable[None]]


@dataclass
class Container:
    """Everything an entrypoint needs; entrypoints never construct adapters themselves."""

    settings: Settings
    clock: Clock
    ids: IdGenerator
    hasher: PasswordHasher
    tokens: TokenService
    uow: UnitOfWorkFactory
    redis: aioredis.Redis | None = None
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        issuer = TokenIssuer(self.tokens, self.clock, self.ids, self.settings.auth.refresh_token_ttl_s)
        self.login = Login(self.uow, self.hasher, issuer)
        self.refresh = Refresh(self.uow, self.clock, issuer)
        self.logout = Logout(self.uow, self.clock)
        self.create_dealership = CreateDealership(self.uow, self.clock, self.ids)
        self.get_dealership = GetDealership(self.uow)
        self.list_dealerships = ListDealerships(self.uow)
        self.update_dealership = UpdateDealership(self.uow, self.clock)
        self.create_user = CreateUser(self.uow, self.hasher, self.clock, self.ids)
        self.get_user = GetUser(self.uow)
        self.list_users = ListUsers(self.uow)
        self.update_user = UpdateUser(self.uow, self.hasher, self.clock)

    async def start(self) -> None:
        for hook in self.startup:
            await hook()

    async def close(self) -> None:
        for hook in reversed(self.shutdown):
            await hook()
