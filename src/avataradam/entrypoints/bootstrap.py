"""The one composition root: Settings in, a wired Container out.

The HTTP app, the worker, the CLI and the tests all build through here. Tests swap
adapters with `Overrides` (keyword arguments, one per port) rather than patching
modules: an in-memory world overrides the unit of work together with the readers of
the same store (`generations`, `accounts`), the caches, the limiter and the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import redis.asyncio as aioredis
import structlog
from dramatiq.brokers.redis import RedisBroker
from prometheus_client import CollectorRegistry
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from avataradam.adapters.chunking.budget import passage_budget
from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.dramatiq.queue import DramatiqTaskQueue, build_broker
from avataradam.adapters.embeddings.metered import MeteredEmbedder
from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.filesystem.spool import TemporaryDirectorySpool
from avataradam.adapters.llm.metered import MeteredChatModel
from avataradam.adapters.llm.sentences import sentence_spans, sentences, unbreakable_spaces
from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.observability.multiprocess import multiprocess_dir
from avataradam.adapters.observability.telemetry import StructlogTelemetry
from avataradam.adapters.observability.tracing import (
    inject_trace_context,
    observed_call,
    observed_stream,
)
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.identity import PostgresGenerationReader
from avataradam.adapters.postgres.keywords import PostgresKeywordSearch
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.redis.accounts import CachedAccountStates
from avataradam.adapters.redis.budget import RedisBudgetLedger
from avataradam.adapters.redis.cache import RedisCache
from avataradam.adapters.security.passwords import Argon2PasswordHasher
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.adapters.system import SystemClock, UuidGenerator
from avataradam.adapters.vectors.metered import MeteredVectorIndex
from avataradam.adapters.webhooks.httpx_sender import HttpxWebhookSender
from avataradam.adapters.webhooks.signing import generate_webhook_secret
from avataradam.adapters.webhooks.ssrf import validate_webhook_url
from avataradam.domain.embedding_text import EmbeddingContext
from avataradam.domain.ports.capabilities import Closable, undecorated
from avataradam.domain.ports.knowledge import Embedder, KeywordSearch, VectorIndex
from avataradam.domain.ports.repositories.identity import AccountStates, GenerationReader
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import (
    BudgetLedger,
    Cache,
    ChatModel,
    RateLimiter,
    TaskQueue,
    WebhookSender,
)
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher
from avataradam.entrypoints import factories
from avataradam.entrypoints.container import Container, Knowledge
from avataradam.entrypoints.options import ingestion_options
from avataradam.entrypoints.profiles import ConfiguredProfiles, passage_text
from avataradam.entrypoints.settings import Settings
from avataradam.entrypoints.speech import SpeechEngines, speech_engines


@dataclass(frozen=True)
class Overrides:
    """Adapters a caller (usually a test) supplies instead of the configured ones.

    `uow` replaces the PostgreSQL store, so it comes with `generations` and `accounts`
    reading the same store (ValueError otherwise), and with `index` unless the vector
    backend is not `postgres`.
    """

    clock: Clock | None = None
    ids: IdGenerator | None = None
    hasher: PasswordHasher | None = None
    uow: UnitOfWorkFactory | None = None
    generations: GenerationReader | None = None
    accounts: AccountStates | None = None
    embedder: Embedder | None = None
    embedders: Callable[[str], Embedder] | None = None
    """Builds the embedder named by a profile other than the configured one (default:
    `factories.embedder`; with only `embedder` overridden, that one for every name)."""
    index: VectorIndex | None = None
    keywords: KeywordSearch | None = None
    """The keyword search fused with the vectors when AVATARADAM_SEARCH_KEYWORD_FUSION
    is on (default: PostgreSQL's, over the store's chunks; none with an overridden uow)."""
    cache: Cache | None = None
    queue: TaskQueue | None = None
    sender: WebhookSender | None = None
    chat_model: ChatModel | None = None
    rate_limiter: RateLimiter | None = None
    budget_ledger: BudgetLedger | None = None
    speech: SpeechEngines | None = None
    """The speech engines (default: those `AVATARADAM_SPEECH_*` configure)."""


@dataclass(frozen=True)
class _Store:
    """The unit of work and the readers of the same state; `database` when it is ours."""

    uow: UnitOfWorkFactory
    generations: GenerationReader
    accounts: AccountStates
    database: PostgresDatabase | None


def build_container(settings: Settings, overrides: Overrides | None = None) -> Container:
    """The application wired from `settings`, each port taken from `overrides` when
    given. Pools open at `Container.start` (clients on first use). Raises ValueError for an
    inconsistent `Overrides` (see there)."""
    overrides = overrides or Overrides()
    auth = settings.auth
    clock = overrides.clock or SystemClock()
    registry = None if multiprocess_dir() else CollectorRegistry()
    metrics = Metrics(registry)
    redis_client = aioredis.Redis.from_url(
        settings.redis.url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
    )
    store = _store(settings, overrides, metrics, redis_client)
    raw_embedder = overrides.embedder or factories.embedder(settings)
    # Passages sized by the embedder's own measure, so each fits its input whole, with
    # the prefix embedded before it (its title and section).
    budget = passage_budget(raw_embedder, settings.ingestion.chunk_size_tokens)
    embedder = MeteredEmbedder(raw_embedder, time_call=partial(observed_call, metrics, "embedder"))
    configured_text = passage_text(EmbeddingContext(settings.embedding.context), budget)
    profiles = ConfiguredProfiles(
        settings,
        metrics,
        embedder=embedder,
        passage_text=configured_text,
        build=overrides.embedders
        or (_only(overrides.embedder) if overrides.embedder is not None else None),
    )
    container = Container(
        settings=settings,
        clock=clock,
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
        uow=store.uow,
        redis=redis_client,
        metrics=metrics,
        metrics_registry=registry,
        telemetry=StructlogTelemetry(metrics),
        knowledge=Knowledge(
            extractor=CompositeTextExtractor.default(),
            chunker=SemchunkChunker(
                chunk_size_tokens=budget.chunk_size_tokens,
                overlap=settings.ingestion.chunk_overlap,
                token_counter=budget.token_counter,
                unbreakable=unbreakable_spaces,
            ),
            passage_text=configured_text,
            embedder=embedder,
            profiles=profiles,
            index=MeteredVectorIndex(
                overrides.index or factories.vector_index(settings, store.database),
                time_call=partial(observed_call, metrics, "vector_store"),
            ),
            options=ingestion_options(settings),
            queued_timeout=timedelta(seconds=settings.ingestion.queued_timeout_s),
            spool=TemporaryDirectorySpool(),
            keywords=_keywords(settings, overrides, store.database),
        ),
        cache=overrides.cache or RedisCache(redis_client),
        queue=overrides.queue or DramatiqTaskQueue(broker_for(settings), message_options),
        sender=overrides.sender
        or HttpxWebhookSender(
            settings.webhooks.allow_private,
            settings.webhooks.timeout_s,
            clock,
            https_only=settings.webhooks.require_https(settings.environment),
        ),
        validate_webhook_url=partial(
            validate_webhook_url,
            allow_private=settings.webhooks.allow_private,
            https_only=settings.webhooks.require_https(settings.environment),
        ),
        new_webhook_secret=generate_webhook_secret,
        rate_limiter=overrides.rate_limiter or factories.rate_limiter(settings, metrics, clock),
        rate_policies=factories.rate_policies(settings),
        generations=store.generations,
        sentence_spans=sentence_spans,
        sentences=sentences,
        accounts=store.accounts,
        budget_ledger=overrides.budget_ledger or RedisBudgetLedger(redis_client),
        speech_engines=overrides.speech or speech_engines(settings),
        chat_model=MeteredChatModel(
            overrides.chat_model or factories.chat_model(settings),
            time_call=partial(observed_stream, metrics, "chat_model"),
            record_tokens=lambda model, prompt, completion: metrics.record_tokens(
                model, prompt=prompt, completion=completion
            ),
        ),
    )
    _wire_resources(container, store.database, redis_client)
    if isinstance(container.accounts, CachedAccountStates):
        # Stopped before the Redis client it listens on is closed (hooks run reversed).
        container.startup.append(container.accounts.start)
        container.shutdown.append(container.accounts.stop)
    _wire_chat(container)
    # Engines close after the syntheses in flight are recorded (hooks run reversed).
    container.shutdown.append(container.speech.aclose)
    container.shutdown.append(container.speech.drain)
    return container


def broker_for(settings: Settings) -> RedisBroker:
    """The task queue's Redis broker of this deployment (API and worker alike)."""
    return build_broker(
        settings.redis.url, heartbeat_timeout_s=settings.redis.queue_heartbeat_timeout_s
    )


def message_options() -> dict[str, str]:
    """Options every queued message carries: the trace context and the request id."""
    options = inject_trace_context()
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        options["request_id"] = str(request_id)
    return options


def _only(embedder: Embedder) -> Callable[[str], Embedder]:
    """A builder of other profiles' embedders that answers `embedder` for every one (an
    overridden embedder stands for every model)."""
    return lambda _name: embedder


def _store(
    settings: Settings, overrides: Overrides, metrics: Metrics, redis_client: aioredis.Redis
) -> _Store:
    if overrides.uow is not None:
        if overrides.generations is None or overrides.accounts is None:
            raise ValueError("an overridden uow needs the generations and accounts of its store")
        return _Store(overrides.uow, overrides.generations, overrides.accounts, None)
    database = factories.database(settings, metrics)
    return _Store(
        PostgresUnitOfWorkFactory(
            database, blobs=factories.blobs(settings), audio_blobs=factories.audio_blobs(settings)
        ),
        overrides.generations or PostgresGenerationReader(database),
        overrides.accounts or factories.account_states(settings, database, redis_client),
        database,
    )


def _keywords(
    settings: Settings, overrides: Overrides, database: PostgresDatabase | None
) -> KeywordSearch | None:
    """The keyword search fused with the vector ranking, or None (fusion off)."""
    if not settings.search.keyword_fusion:
        return None
    if overrides.keywords is not None or database is None:
        return overrides.keywords
    return PostgresKeywordSearch(lambda: database.primary)


def _wire_resources(
    container: Container, database: PostgresDatabase | None, redis_client: aioredis.Redis
) -> None:
    container.database = database
    if database is not None:
        container.startup.append(database.start)
        container.shutdown.append(database.close)
        container.health_checks["postgres_primary"] = database.ping
        if container.settings.database.replica_url:
            container.health_checks["postgres_replica"] = partial(database.ping, replica=True)
    container.shutdown.append(redis_client.aclose)

    async def ping_redis() -> None:
        await redis_client.ping()

    container.health_checks["redis"] = ping_redis


def _wire_chat(container: Container) -> None:
    """Closes the model's client, after replies in flight have been stored (hooks run
    in reverse order, so the drain comes first)."""
    model = undecorated(container.chat_model)
    if isinstance(model, Closable):
        container.shutdown.append(model.aclose)
    container.shutdown.append(container.send_message.drain)
