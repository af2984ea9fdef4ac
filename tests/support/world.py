"""An application wired in memory (`build_container` with overrides, no PostgreSQL),
and the use cases' default options.

The state lives in one `InMemoryStore` shared by the unit of work and its readers;
caches, rate limits, budgets and vectors live in the process too. Redis is still the
configured client (health checks, task queue unless overridden).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from avataradam.adapters.caching.answers import AnswerCacheOptions
from avataradam.adapters.caching.retrieval import CacheOptions
from avataradam.adapters.memory.budget import InMemoryBudgetLedger
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.adapters.memory.identity import (
    InMemoryAccountStates,
    InMemoryGenerationReader,
)
from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.system import SystemClock
from avataradam.domain.usecases.conversations.chat import ChatOptions
from avataradam.domain.usecases.ingestion import IngestionOptions
from avataradam.entrypoints import options
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import Settings


def in_memory(settings: Settings, **overrides: Any) -> Overrides:
    """Overrides keeping every state in this process; `overrides` (any `Overrides`
    field) replace the in-memory choice or add to it."""
    store = InMemoryStore()
    clock = overrides.pop("clock", None) or SystemClock()
    world = Overrides(
        clock=clock,
        uow=InMemoryUnitOfWorkFactory(store),
        generations=InMemoryGenerationReader(store),
        accounts=InMemoryAccountStates(store),
        index=InMemoryVectorIndex(settings.embedding.dimension),
        cache=InMemoryCache(),
        rate_limiter=InMemoryRateLimiter(clock),
        budget_ledger=InMemoryBudgetLedger(clock),
    )
    return replace(world, **overrides)


def in_memory_container(settings: Settings, **overrides: Any) -> Container:
    """`build_container(settings, in_memory(settings, **overrides))`."""
    return build_container(settings, in_memory(settings, **overrides))


DEFAULTS = Settings()
"""The settings of a process without any `AVATARADAM_*` variable."""


def ingestion_options(**changes: Any) -> IngestionOptions:
    """The default `IngestionOptions`, with `changes` (field=value) applied."""
    return msgspec.structs.replace(options.ingestion_options(DEFAULTS), **changes)


def cache_options(**changes: Any) -> CacheOptions:
    """The default `CacheOptions`, with `changes` (field=value) applied."""
    return msgspec.structs.replace(options.cache_options(DEFAULTS), **changes)


def chat_options(**changes: Any) -> ChatOptions:
    """The default `ChatOptions` of a process on the hashing embedder (the in-memory
    worlds' embedder, hence its relevance floor), with `changes` (field=value) applied."""
    hashing = msgspec.structs.replace(DEFAULTS, embedder="hashing")
    return msgspec.structs.replace(options.chat_options(hashing), **changes)


def answer_cache_options(**changes: Any) -> AnswerCacheOptions:
    """The default `AnswerCacheOptions`, with `changes` (field=value) applied."""
    return msgspec.structs.replace(options.answer_cache_options(DEFAULTS), **changes)
