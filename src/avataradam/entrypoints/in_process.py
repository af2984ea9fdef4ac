"""The product wired with every state in this process: for tools that run the real use
cases on their own (the retrieval benchmark) and for the tests' in-memory worlds.

The state lives in one `InMemoryStore` shared by the unit of work and its readers;
caches, rate limits, budgets and vectors live in the process too. Redis stays the
configured client (health checks, and the task queue unless overridden).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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
from avataradam.entrypoints.bootstrap import Overrides
from avataradam.entrypoints.settings import Settings


def in_process_overrides(settings: Settings, **overrides: Any) -> Overrides:
    """`Overrides` keeping every state in this process; `overrides` (any `Overrides`
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
