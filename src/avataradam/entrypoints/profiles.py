"""This service's `VectorProfiles`: the configured profile's embedder as built at
start, and any other profile's built on first use from the same settings (another
`AVATARADAM_EMBEDDER`, another `AVATARADAM_EMBEDDING_CONTEXT`).

A dealership whose vectors were made by another profile than the configured one (the
settings changed, or a re-embedding is under way) is searched and written with that
profile's own model, loaded once per process; see `domain.vectors`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from functools import partial

import msgspec
import structlog

from avataradam.adapters.chunking.budget import PassageBudget, passage_budget
from avataradam.adapters.embeddings.metered import MeteredEmbedder
from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.observability.tracing import observed_call
from avataradam.domain.embedding_text import EmbeddingContext, PassageText
from avataradam.domain.errors import DependencyUnavailable, DomainError
from avataradam.domain.ports.capabilities import WarmsUp, undecorated
from avataradam.domain.ports.knowledge import Embedder
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.profiles import VectorProfiles
from avataradam.domain.vectors import parse_profile, profile_name
from avataradam.entrypoints import factories
from avataradam.entrypoints.settings import Settings

MIN_PREFIX_TOKENS = 16
"""Below this room beside a passage a title and section hardly fit: said at start."""


def passage_text(context: EmbeddingContext, budget: PassageBudget) -> PassageText:
    """What is embedded for a passage; warns when the chunk size leaves its title and
    section (`AVATARADAM_EMBEDDING_CONTEXT`) little room in the model's window."""
    room = budget.prefix_tokens
    if context is not EmbeddingContext.NONE and room is not None and room < MIN_PREFIX_TOKENS:
        structlog.get_logger().warning(
            "embedding_context_without_room",
            prefix_tokens=room,
            hint="lower AVATARADAM_INGESTION_CHUNK_SIZE_TOKENS to leave the title and section"
            " room in the embedder's window, or set AVATARADAM_EMBEDDING_CONTEXT=none",
        )
    return PassageText(context, count_tokens=budget.prefix_counter, max_prefix_tokens=room)


class ConfiguredProfiles:
    """Implements `VectorProfiles`. `build(embedder_name)` makes an unmetered embedder
    of another profile (default: `factories.embedder` on these settings with that
    embedder); each is metered like the configured one."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        embedder: Embedder,
        passage_text: PassageText,
        build: Callable[[str], Embedder] | None = None,
    ) -> None:
        self._settings, self._metrics = settings, metrics
        self._configured = profile_name(settings.embedder, settings.embedding.context)
        self._built: dict[str, tuple[Embedder, PassageText]] = {
            self._configured: (embedder, passage_text)
        }
        self._embedders: dict[str, Embedder] = {settings.embedder: embedder}
        self._build = build or self._from_settings
        self._lock = threading.Lock()

    @property
    def configured(self) -> str:
        return self._configured

    def embedder(self, profile: str | None) -> Embedder:
        return self._get(profile)[0]

    def passage_text(self, profile: str | None) -> PassageText:
        return self._get(profile)[1]

    def space(self, profile: str | None) -> str:
        embedder, text = self._get(profile)
        return text.vector_space(embedder.model_name)

    def _get(self, profile: str | None) -> tuple[Embedder, PassageText]:
        name = profile or self._configured
        found = self._built.get(name)
        if found is not None:
            return found
        embedder_name, context = parse_profile(name)
        with self._lock:
            embedder = self._embedders.get(embedder_name)
            if embedder is None:
                raw = self._build(embedder_name)
                embedder = MeteredEmbedder(
                    raw, time_call=partial(observed_call, self._metrics, "embedder")
                )
                self._embedders[embedder_name] = embedder
            budget = passage_budget(
                undecorated(embedder), self._settings.ingestion.chunk_size_tokens
            )
            found = self._built[name] = (embedder, passage_text(context, budget))
        return found

    def _from_settings(self, embedder_name: str) -> Embedder:
        return factories.embedder(msgspec.structs.replace(self._settings, embedder=embedder_name))


async def warm_profiles_in_use(uow: UnitOfWorkFactory, profiles: VectorProfiles) -> list[str]:
    """Loads, off the event loop, the embedder of every profile a dealership's search
    reads besides the configured one (after a change of embedder, the dealerships not
    yet re-embedded), so that no request waits for a model to load; answers those
    loaded. Best effort: a profile whose model cannot be had is logged and skipped (its
    searches answer `embedder_unavailable`)."""
    log = structlog.get_logger("avataradam.profiles")
    try:
        async with uow(read_only=True) as work:
            in_use = await work.dealerships.vector_profiles()
    except DependencyUnavailable as exc:
        log.warning("vector_profiles_unread", error=exc.message)
        return []
    loaded = []
    for profile in in_use:
        if profile == profiles.configured:
            continue
        try:
            embedder = undecorated(profiles.embedder(profile))
            if isinstance(embedder, WarmsUp):
                await asyncio.to_thread(embedder.warm_up)
        except DomainError as exc:
            log.warning("vector_profile_unavailable", profile=profile, error=exc.message)
            continue
        loaded.append(profile)
    return loaded
