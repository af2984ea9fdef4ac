"""The one composition root: Settings in, a wired Container out.

The HTTP app, the worker, the CLI and the tests all build through here; tests swap
adapters with `Overrides` rather than patching modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.security.passwords import Argon2PasswordHasher
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.domain.ports.repositories import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import Settings


@dataclass(frozen=True)
class Overrides:
    """Adapters a caller (usually a test) supplies instead of the configured ones."""

    clock: Clock | None = None
    ids: IdGenerator | None = None
    hasher: PasswordHasher | None = None
    uow: UnitOfWorkFactory | None = None


def build_container(settings: Settings, overrides: Overrides | None = None) -> Container:
    overrides = overrides or Overrides()
    auth = settings.auth
    container = Container(
        settings=settings,
        clock=overrides.clock or SystemClock(),
        ids=overrides.ids or UuidGenerator(),
        hasher=overrides.hasher
        or Argon2PasswordHasher(
            time_cost=auth.argon2_time_cost, memory_cost_kib=auth.argon2_memory_kib
        ),
        tokens=JwtTokenService(
            secret=auth.jwt_secret,
            algorithm=auth.jwt_algorithm,
            issuer=auth.jwt_issuer,
            audience=auth.jwt_audience,
            access_ttl_s=auth.access_token_ttl_s,
        ),
        uow=overrides.uow or _unit_of_work(settings),
    )
    _wire_resources(container)
    return container


def _unit_of_work(settings: Settings) -> UnitOfWorkFactory:
    if settings.persistence == "memory":
        return InMemoryUnitOfWorkFactory(InMemoryStore())
    db = settings.database
    return PostgresUnitOfWorkFactory(
        PostgresDatabase(
            db.url,
            replica_dsn=db.replica_url,
            min_size=db.pool_min_size,
            max_size=db.pool_max_size,
            command_timeout_s=db.command_timeout_s,
            statement_cache_size=db.statement_cache_size,
        )
    )


def _wire_resources(container: Container) -> None:
    uow = container.uow
    if isinstance(uow, PostgresUnitOfWorkFactory):
        database = uow.database
        container.startup.append(database.start)
        container.shutdown.append(database.close)
        container.health_checks["postgres_primary"] = database.ping
        if container.settings.database.replica_url:
            container.health_checks["postgres_replica"] = lambda: database.ping(replica=True)
    redis_client = aioredis.Redis.from_url(
        container.settings.redis.url, socket_connect_timeout=2, socket_timeout=5
    )
    container.redis = redis_client
    container.shutdown.append(redis_client.aclose)

    async def ping_redis() -> None:
        await redis_client.ping()

    container.health_checks["redis"] = ping_redis
