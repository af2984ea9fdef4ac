"""An application wired in memory (`build_container` with overrides, no PostgreSQL),
and the use cases' default options.

The state lives in one `InMemoryStore` shared by the unit of work and its readers;
caches, rate limits, budgets and vectors live in the process too. Redis is still the
configured client (health checks, task queue unless overridden).
"""

from __future__ import annotations

from typing import Any

import msgspec

from avataradam.adapters.caching.answers import AnswerCacheOptions
from avataradam.adapters.caching.retrieval import CacheOptions
from avataradam.domain.usecases.conversations.chat import ChatOptions
from avataradam.domain.usecases.ingestion_run import IngestionOptions
from avataradam.entrypoints import options
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.in_process import in_process_overrides
from avataradam.entrypoints.settings import Settings


def in_memory(settings: Settings, **overrides: Any) -> Overrides:
    """`in_process_overrides`: every state in this process."""
    return in_process_overrides(settings, **overrides)


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
