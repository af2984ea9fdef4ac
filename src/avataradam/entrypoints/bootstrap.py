"""The one composition root: Settings in, a wired Container out.

The HTTP app, the worker, the CLI and the tests all build through here; tests swap
adapters with `Overrides` rather than patching modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from prometheus_client import CollectorRegistry
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff

from avataradam.adapters.chunking.budget import passage_budget
from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.dramatiq.queue import DramatiqTaskQueue, build_broker
from avataradam.adapters.embeddings.metered import MeteredEmbedder
from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.filesystem.blobs import FilesystemBlobRepository
from avataradam.adapters.filesystem.spool import TemporaryDirectorySpool
from avataradam.adapters.llm.extractive import ExtractiveChatModel
from avataradam.adapters.llm.metered import MeteredChatModel
from avataradam.adapters.llm.sentences import sentence_spans, sentences
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
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.identity import (
    PostgresAccountStates,
    PostgresGenerationReader,
)
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.redis.accounts import CachedAccountStates
from avataradam.adapters.redis.budget import RedisBudgetLedger
from avataradam.adapters.redis.cache import RedisCache
from avataradam.adapters.redis.ratelimit import RedisRateLimiter
from avataradam.adapters.security.passwords import Argon2PasswordHasher
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.adapters.system import SystemClock, SystemTimer, UuidGenerator
from avataradam.adapters.vectors.metered import MeteredVectorIndex
from avataradam.adapters.vectors.postgres import PostgresVectorIndex
from avataradam.adapters.webhooks.httpx_sender import HttpxWebhookSender
from avataradam.adapters.webhooks.signing import generate_webhook_secret
from avataradam.adapters.webhooks.ssrf import validate_webhook_url
from avataradam.domain.ports.knowledge import Embedder, VectorIndex
from avataradam.domain.ports.repositories.identity import AccountStates, GenerationReader
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import (
    BudgetLedger,
    Cache,
    ChatModel,
    RateLimiter,
    RatePolicy,
    TaskQueue,
    WebhookSender,
)
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher
from avataradam.domain.usecases.ingestion import IngestionOptions
from avataradam.domain.usecases.ratelimits import RatePolicies
from avataradam.entrypoints.container import Container, Knowledge
from avataradam.entrypoints.observability.metrics import Metrics, multiprocess_dir
from avataradam.entrypoints.observability.tracing import (
    inject_trace_context,
    observed_call,
    observed_stream,
)
from avataradam.entrypoints.settings import Settings
from avataradam.entrypoints.telemetry import StructlogTelemetry


@dataclass(frozen=True)
class Overrides:
    """Adapters a caller (usually a test) supplies instead of the configured ones."""

    clock: Clock | None = None
    ids: IdGenerator | None = None
    hasher: PasswordHasher | None = None
    uow: UnitOfWorkFactory | None = None
    embedder: Embedder | None = None
    index: VectorIndex | None = None
    cache: Cache | None = None
    queue: TaskQueue | None = None
    sender: WebhookSender | None = None
    chat_model: ChatModel | None = None
    rate_limiter: RateLimiter | None = None
    budget_ledger: BudgetLedger | None = None


def build_container(settings: Settings, overrides: Overrides | None = None) -> Container:
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
    uow = overrides.uow or _unit_of_work(settings, metrics)
    embedder = MeteredEmbedder(
        overrides.embedder or _embedder(settings),
        time_call=partial(observed_call, metrics, "embedder"),
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
        uow=uow,
        redis=redis_client,
        metrics=metrics,
        metrics_registry=registry,
        telemetry=StructlogTelemetry(metrics),
        knowledge=Knowledge(
            extractor=CompositeTextExtractor.default(),
            chunker=_chunker(settings, embedder),
            embedder=embedder,
            index=MeteredVectorIndex(
                overrides.index or _vector_index(settings, uow),
                time_call=partial(observed_call, metrics, "vector_store"),
            ),
            options=IngestionOptions(
                embed_batch_size=settings.ingestion.embed_batch_size,
                upsert_batch_size=settings.ingestion.upsert_batch_size,
                lease_s=settings.ingestion.lease_s,
                lease_renew_interval_s=settings.ingestion.lease_renew_interval_s,
            ),
            queued_timeout=timedelta(seconds=settings.ingestion.queued_timeout_s),
            spool=TemporaryDirectorySpool(),
            timer=SystemTimer(),
        ),
        cache=overrides.cache or _cache(settings, redis_client),
        queue=overrides.queue
        or DramatiqTaskQueue(build_broker(settings.redis.url), message_options),
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
        rate_limiter=overrides.rate_limiter or _rate_limiter(settings, metrics, clock),
        rate_policies=rate_policies(settings),
        generations=_generations(uow),
        sentence_spans=sentence_spans,
        sentences=sentences,
        accounts=_account_states(settings, uow, redis_client),
        budget_ledger=overrides.budget_ledger or _budget_ledger(settings, redis_client, clock),
        chat_model=MeteredChatModel(
            overrides.chat_model or _chat_model(settings),
            time_call=partial(observed_stream, metrics, "chat_model"),
            record_tokens=lambda model, prompt, completion: metrics.record_tokens(
                model, prompt=prompt, completion=completion
            ),
        ),
    )
    _wire_resources(container, redis_client)
    if isinstance(container.accounts, CachedAccountStates):
        # Stopped before the Redis client it listens on is closed (hooks run reversed).
        container.startup.append(container.accounts.start)
        container.shutdown.append(container.accounts.stop)
    _wire_chat(container)
    return container


def message_options() -> dict[str, str]:
    """Options every queued message carries: the trace context and the request id."""
    options = inject_trace_context()
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        options["request_id"] = str(request_id)
    return options


def _unit_of_work(settings: Settings, metrics: Metrics) -> UnitOfWorkFactory:
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
            connect_timeout_s=db.connect_timeout_s,
            replica_max_lag_s=db.replica_max_lag_s,
            replica_status_ttl_s=db.replica_status_ttl_s,
            on_replica_fallback=lambda _reason: metrics.db_replica_fallbacks.inc(),
            on_replica_lag=metrics.db_replica_lag.set,
            on_pool_usage=lambda pool, size, in_use: metrics.record_pool(
                pool, size=size, in_use=in_use
            ),
            on_acquire_wait=lambda pool, wait: metrics.db_pool_acquire.labels(pool).observe(wait),
        ),
        blobs=(
            FilesystemBlobRepository(Path(settings.blobs.directory))
            if settings.blobs.backend == "filesystem"
            else None
        ),
    )


def _generations(uow: UnitOfWorkFactory) -> GenerationReader:
    if isinstance(uow, PostgresUnitOfWorkFactory):
        return PostgresGenerationReader(uow.database)
    if isinstance(uow, InMemoryUnitOfWorkFactory):
        return InMemoryGenerationReader(uow.store)
    raise TypeError(f"no generation reader for {type(uow).__name__}")


def _account_states(
    settings: Settings, uow: UnitOfWorkFactory, redis_client: aioredis.Redis
) -> AccountStates:
    """PostgreSQL's, cached per process and invalidated over Redis (`ttl_s` > 0)."""
    if isinstance(uow, InMemoryUnitOfWorkFactory):
        return InMemoryAccountStates(uow.store)
    if not isinstance(uow, PostgresUnitOfWorkFactory):
        raise TypeError(f"no account states for {type(uow).__name__}")
    states = PostgresAccountStates(uow.database)
    ttl_s = settings.auth.account_cache_ttl_s
    if ttl_s == 0 or settings.persistence == "memory":
        return states
    log = structlog.get_logger("avataradam.accounts")

    def report(event: str) -> None:
        level = log.warning if event == "broadcast_failed" else log.info
        level("account_changes", change=event)

    return CachedAccountStates(states, redis_client, ttl_s=ttl_s, on_event=report)


def _chunker(settings: Settings, embedder: Embedder) -> SemchunkChunker:
    """Passages sized by the embedder's own measure, so each fits its input whole."""
    budget = passage_budget(embedder, settings.ingestion.chunk_size_tokens)
    return SemchunkChunker(
        chunk_size_tokens=budget.chunk_size_tokens,
        overlap=settings.ingestion.chunk_overlap,
        token_counter=budget.token_counter,
    )


def _embedder(settings: Settings) -> Embedder:
    from avataradam.adapters.embeddings.hashing import HashingEmbedder  # noqa: PLC0415

    config = settings.embedding
    if settings.embedder == "hashing":
        return HashingEmbedder(dimension=config.dimension)
    if settings.embedder == "openai":
        from avataradam.adapters.embeddings.openai import OpenAIEmbedder  # noqa: PLC0415

        return OpenAIEmbedder(
            base_url=config.openai_base_url,
            api_key=config.openai_api_key or "",
            model=config.openai_model,
            dimension=config.dimension,
            batch_size=config.batch_size,
            timeout_s=config.timeout_s,
            max_input_tokens=config.openai_max_input_tokens,
        )
    # Imported only when chosen: the local model stack (torch) is an optional install.
    from avataradam.adapters.embeddings.local import (  # noqa: PLC0415
        LocalSentenceTransformerEmbedder,
    )

    return LocalSentenceTransformerEmbedder(batch_size=config.batch_size)


def _vector_index(settings: Settings, uow: UnitOfWorkFactory) -> VectorIndex:
    dimension = settings.embedding.dimension
    if settings.vector_backend == "pinecone":
        from avataradam.adapters.vectors.pinecone import PineconeVectorIndex  # noqa: PLC0415

        return PineconeVectorIndex(
            host=settings.vectors.pinecone_index_host or "",
            api_key=settings.vectors.pinecone_api_key or "",
            dimension=dimension,
        )
    if settings.vector_backend == "memory" or not isinstance(uow, PostgresUnitOfWorkFactory):
        return InMemoryVectorIndex(dimension)
    database = uow.database
    return PostgresVectorIndex(lambda: database.primary, dimension)


def rate_policies(settings: Settings) -> RatePolicies:
    """The configured policies; a limit of 0 (or `enabled=false`) switches one off."""
    config = settings.rate_limit

    def policy(name: str, limit: int, window_s: int, *, fail_open: bool) -> RatePolicy | None:
        if not config.enabled or limit == 0:
            return None
        return RatePolicy(name=name, limit=limit, window_s=window_s, fail_open=fail_open)

    per_user = {
        "chat": policy("chat", config.chat_limit, config.chat_window_s, fail_open=config.fail_open),
        "search": policy(
            "search", config.search_limit, config.search_window_s, fail_open=config.fail_open
        ),
        "upload": policy(
            "upload", config.upload_limit, config.upload_window_s, fail_open=config.fail_open
        ),
    }
    return RatePolicies(
        per_user={name: p for name, p in per_user.items() if p is not None},
        per_dealership=policy(
            "dealership",
            config.dealership_limit,
            config.dealership_window_s,
            fail_open=config.fail_open,
        ),
        login=policy("login", config.login_limit, config.login_window_s, fail_open=False),
        login_address=policy(
            "login_address",
            config.login_address_limit,
            config.login_address_window_s,
            fail_open=False,
        ),
    )


def _rate_limiter(settings: Settings, metrics: Metrics, clock: Clock) -> RateLimiter:
    if settings.persistence == "memory" or settings.rate_limit.backend == "memory":
        return InMemoryRateLimiter(clock)
    # Its own client and pool, without retries: the limiter sits in front of every
    # request, so an outage must cost at most the timeout before failing open/closed.
    # The timeout still leaves room for a burst of new connections on a busy host.
    client = aioredis.Redis.from_url(
        settings.redis.url,
        socket_connect_timeout=2.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 0),
    )
    fail_open = {p.name: p.fail_open for p in _all_policies(rate_policies(settings))}

    def unavailable(policy: str) -> None:
        decision = "fail_open" if fail_open.get(policy, False) else "fail_closed"
        metrics.rate_limit_decisions.labels(policy=policy, decision=decision).inc()

    return RedisRateLimiter(client, on_unavailable=unavailable)


def _budget_ledger(settings: Settings, client: aioredis.Redis, clock: Clock) -> BudgetLedger:
    """Exact across instances on Redis; per process with the memory profile."""
    if settings.persistence == "memory":
        return InMemoryBudgetLedger(clock)
    return RedisBudgetLedger(client)


def _all_policies(policies: RatePolicies) -> list[RatePolicy]:
    shared = [
        p
        for p in (policies.per_dealership, policies.login, policies.login_address)
        if p is not None
    ]
    return [*policies.per_user.values(), *shared]


def _cache(settings: Settings, client: aioredis.Redis) -> Cache:
    if settings.persistence == "memory":
        return InMemoryCache()
    return RedisCache(client)


def _wire_resources(container: Container, redis_client: aioredis.Redis) -> None:
    uow = container.uow
    if isinstance(uow, PostgresUnitOfWorkFactory):
        database = uow.database
        container.startup.append(database.start)
        container.shutdown.append(database.close)
        container.health_checks["postgres_primary"] = database.ping
        if container.settings.database.replica_url:
            container.health_checks["postgres_replica"] = partial(database.ping, replica=True)
    container.shutdown.append(redis_client.aclose)

    async def ping_redis() -> None:
        await redis_client.ping()

    container.health_checks["redis"] = ping_redis


def _chat_model(settings: Settings) -> ChatModel:
    chat = settings.chat
    if settings.chat_model == "openai":
        from avataradam.adapters.llm.openai import OpenAIChatModel  # noqa: PLC0415

        return OpenAIChatModel(
            base_url=chat.openai_base_url,
            api_key=chat.openai_api_key or "",
            model=chat.openai_model,
            timeout_s=chat.timeout_s,
            max_retries=chat.max_retries,
            temperature=chat.temperature,
        )
    if settings.chat_model == "local":
        from avataradam.adapters.llm.llama_server import LlamaServerChatModel  # noqa: PLC0415

        return LlamaServerChatModel(
            model_path=chat.local_model_path or "",
            sha256=chat.local_model_sha256,
            context_tokens=chat.local_context_tokens,
            parallel=chat.local_parallel,
            threads=chat.local_threads,
            temperature=chat.temperature,
            timeout_s=chat.timeout_s,
        )
    return ExtractiveChatModel(delta_delay_s=chat.extractive_delta_delay_s)


def _wire_chat(container: Container) -> None:
    """Closes the model's client, after replies in flight have been stored (hooks run
    in reverse order, so the drain comes first)."""
    model = container.chat_model
    inner = model.inner if isinstance(model, MeteredChatModel) else model
    close = getattr(inner, "aclose", None)
    if close is not None:
        container.shutdown.append(close)
    container.shutdown.append(container.send_message.drain)
