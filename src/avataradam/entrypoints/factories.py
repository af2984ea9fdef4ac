"""The configured adapters, one factory per port: Settings in, an adapter out.

bootstrap.py calls these for every port a caller did not override; nothing here wires
adapters together or knows about the container.
"""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from avataradam.adapters.filesystem.blobs import FilesystemBlobRepository
from avataradam.adapters.llm.extractive import ExtractiveChatModel
from avataradam.adapters.memory.ratelimit import InMemoryRateLimiter
from avataradam.adapters.memory.vector_index import InMemoryVectorIndex
from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.identity import PostgresAccountStates
from avataradam.adapters.redis.accounts import CachedAccountStates
from avataradam.adapters.redis.ratelimit import RedisRateLimiter
from avataradam.adapters.vectors.postgres import PostgresVectorIndex
from avataradam.domain.ports.knowledge import Embedder, VectorIndex
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.services import ChatModel, RateLimiter, RatePolicy
from avataradam.domain.ports.system import Clock
from avataradam.domain.usecases.ratelimits import RatePolicies
from avataradam.entrypoints.settings import Settings


def database(settings: Settings, metrics: Metrics) -> PostgresDatabase:
    """The primary's and the replica's pools, reporting to `metrics`; not yet started."""
    db = settings.database
    return PostgresDatabase(
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
    )


def blobs(settings: Settings) -> FilesystemBlobRepository | None:
    """A directory of uploaded files, or None to keep them in PostgreSQL."""
    if settings.blobs.backend == "filesystem":
        return FilesystemBlobRepository(Path(settings.blobs.directory))
    return None


def audio_blobs(settings: Settings) -> FilesystemBlobRepository | None:
    """Where replies' audio is kept, beside the documents' files (`blobs`): in their own
    subdirectory `speech/`, or None to keep it in PostgreSQL."""
    if settings.blobs.backend == "filesystem":
        return FilesystemBlobRepository(Path(settings.blobs.directory) / "speech")
    return None


def account_states(
    settings: Settings, database: PostgresDatabase, redis_client: aioredis.Redis
) -> AccountStates:
    """PostgreSQL's, cached per process and invalidated over Redis (`ttl_s` > 0)."""
    states = PostgresAccountStates(database)
    ttl_s = settings.auth.account_cache_ttl_s
    if ttl_s == 0:
        return states
    log = structlog.get_logger("avataradam.accounts")

    def report(event: str) -> None:
        level = log.warning if event == "broadcast_failed" else log.info
        level("account_changes", change=event)

    return CachedAccountStates(states, redis_client, ttl_s=ttl_s, on_event=report)


def embedder(settings: Settings) -> Embedder:
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
    if settings.embedder == "e5":
        from avataradam.adapters.embeddings.e5 import E5Embedder  # noqa: PLC0415

        return E5Embedder(batch_size=config.batch_size)
    # Imported only when chosen: the local model stack (torch) is an optional install.
    from avataradam.adapters.embeddings.local import (  # noqa: PLC0415
        LocalSentenceTransformerEmbedder,
    )

    return LocalSentenceTransformerEmbedder(batch_size=config.batch_size)


def vector_index(settings: Settings, database: PostgresDatabase | None) -> VectorIndex:
    """`vector_backend`'s index; `postgres` needs the `database` (None: raises ValueError)."""
    dimension = settings.embedding.dimension
    if settings.vector_backend == "pinecone":
        from avataradam.adapters.vectors.pinecone import PineconeVectorIndex  # noqa: PLC0415

        return PineconeVectorIndex(
            host=settings.vectors.pinecone_index_host or "",
            api_key=settings.vectors.pinecone_api_key or "",
            dimension=dimension,
        )
    if settings.vector_backend == "memory":
        return InMemoryVectorIndex(dimension)
    if database is None:
        raise ValueError("vector_backend=postgres needs the PostgreSQL unit of work")
    return PostgresVectorIndex(lambda: database.primary, dimension)


def chat_model(settings: Settings) -> ChatModel:
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
            cache_ram_mib=chat.local_cache_ram_mib,
            temperature=chat.temperature,
            timeout_s=chat.timeout_s,
        )
    return ExtractiveChatModel(delta_delay_s=chat.extractive_delta_delay_s)


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
        "speech": policy(
            "speech", config.speech_limit, config.speech_window_s, fail_open=config.fail_open
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


def rate_limiter(settings: Settings, metrics: Metrics, clock: Clock) -> RateLimiter:
    if settings.rate_limit.backend == "memory":
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
        metrics.record_rate_limit(policy, decision)

    return RedisRateLimiter(client, on_unavailable=unavailable)


def _all_policies(policies: RatePolicies) -> list[RatePolicy]:
    shared = [
        p
        for p in (policies.per_dealership, policies.login, policies.login_address)
        if p is not None
    ]
    return [*policies.per_user.values(), *shared]
