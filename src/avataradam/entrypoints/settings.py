"""The one typed settings tree, read once from `AVATARADAM_*` variables (and `.env`).

A leaf `field` of section `section` is read from `AVATARADAM_<SECTION>_<FIELD>`;
top-level leaves from `AVATARADAM_<FIELD>`. Values are validated at start and a bad
one stops the process with a message naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_type_hints

import msgspec
from dotenv import dotenv_values

PREFIX = "AVATARADAM_"
_ORIGIN = re.compile(
    r"https?://(?:[a-z0-9-]+\.)*[a-z0-9-]+(?::[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](?::[0-9]{1,5})?"
)
"""An origin as browsers serialise it (RFC 6454): lower-case scheme and host, no path."""
DEV_JWT_SECRET = "avataradam-development-secret-do-not-use-in-production"  # noqa: S105 -- refused outside development


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str = "postgresql://postgres@127.0.0.1:5432/avataradam"
    replica_url: str | None = None
    pool_min_size: int = 2
    pool_max_size: int = 10
    command_timeout_s: float = 30.0
    statement_cache_size: int = 100
    replica_max_lag_s: float = 10.0
    replica_status_ttl_s: float = 1.0
    connect_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        if not 1 <= self.pool_min_size <= self.pool_max_size:
            raise ValueError("pool sizes need 1 <= pool_min_size <= pool_max_size")


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str = "redis://127.0.0.1:6379/0"

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")


class HttpSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    server: Literal["granian", "uvicorn"] = "granian"
    max_request_body_bytes: int = 1_048_576
    body_timeout_s: float = 120.0
    """Deadline for a request body to arrive in full; a trickling client gets 408."""
    idempotency_key_ttl_s: int = 24 * 3600
    """How long an `Idempotency-Key` replays its first answer; the worker purges older keys."""
    cors_origins: str = ""
    """Browser origins allowed to call the API across origins (CORS), comma-separated,
    each `scheme://host[:port]` exactly as a browser sends it; empty: none."""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError("port must be 1..65535")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.body_timeout_s <= 0:
            raise ValueError("body_timeout_s must be positive")
        if self.idempotency_key_ttl_s < 60:
            raise ValueError("idempotency_key_ttl_s must be at least 60")
        for origin in self.cors_origin_list:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"cors_origins: {origin!r} is not an origin like https://app.example.com "
                    "(scheme, host and optional port; no path, no wildcard)"
                )

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "avataradam"
    jwt_audience: str = "avataradam-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    account_cache_ttl_s: int = 10
    """How long an API process may keep an account's state (active, role, session
    version) between requests; changes reach every process at once over Redis, this
    bounds only a lost broadcast. 0 reads PostgreSQL on every request."""

    def __post_init__(self) -> None:
        if self.account_cache_ttl_s < 0:
            raise ValueError("account_cache_ttl_s must be 0 or more")
        if len(self.jwt_secret) < 32:
            raise ValueError("jwt_secret must be at least 32 characters")
        if self.access_token_ttl_s < 30 or self.refresh_token_ttl_s < self.access_token_ttl_s:
            raise ValueError("token lifetimes: access >= 30 s and refresh >= access")


class IngestionSettings(msgspec.Struct, frozen=True, kw_only=True):
    max_upload_bytes: int = 25 * 1024 * 1024
    chunk_size_tokens: int = 200
    chunk_overlap: float = 0.15
    embed_batch_size: int = 64
    upsert_batch_size: int = 500
    queued_timeout_s: float = 300.0
    reconcile_interval_s: float = 5.0
    max_retries: int = 8
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 300_000
    worker_time_limit_s: int = 1800
    lease_s: float = 20.0
    """How long a worker holds a `processing` document without renewing its lease; a
    worker that dies delays its document by at most this plus `reconcile_interval_s`."""
    lease_renew_interval_s: float = 5.0
    """How often the worker renews the lease of each document it processes."""
    progress_interval_s: float = 0.5
    """Least time between two progress reports of one document."""

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise ValueError("max_upload_bytes must be positive")
        if not 0 < self.lease_renew_interval_s <= self.lease_s / 2:
            raise ValueError("lease_renew_interval_s must be positive and at most lease_s / 2")
        if self.reconcile_interval_s <= 0:
            raise ValueError("reconcile_interval_s must be positive")
        if not 0 <= self.chunk_overlap < 1 or self.chunk_size_tokens < 16:
            raise ValueError("chunk_size_tokens >= 16 and 0 <= chunk_overlap < 1")
        if self.embed_batch_size < 1 or self.upsert_batch_size < 1:
            raise ValueError("embed_batch_size and upsert_batch_size must be at least 1")
        if self.progress_interval_s < 0:
            raise ValueError("progress_interval_s must be >= 0")


class EmbeddingSettings(msgspec.Struct, frozen=True, kw_only=True):
    batch_size: int = 32
    dimension: int = 384
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_model: str = "text-embedding-3-small"
    timeout_s: float = 30.0
    openai_max_input_tokens: int = 8191

    def __post_init__(self) -> None:
        if self.openai_max_input_tokens < 16:
            raise ValueError("openai_max_input_tokens must be at least 16")


class VectorSettings(msgspec.Struct, frozen=True, kw_only=True):
    pinecone_api_key: str | None = None
    pinecone_index_host: str | None = None


class WebhookSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Webhook delivery. `https_only` unset means on in production, off elsewhere."""

    allow_private: bool = False
    timeout_s: float = 5.0
    https_only: bool | None = None
    max_retries: int = 8
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 300_000
    redrive_after_s: float = 60.0
    circuit_failures: int = 5
    circuit_cooldown_s: float = 60.0
    rotation_grace_s: float = 86_400.0

    def __post_init__(self) -> None:
        if not 0 < self.timeout_s <= 60:
            raise ValueError("timeout_s must be in (0, 60]")
        if self.max_retries < 0 or not 0 < self.min_backoff_ms <= self.max_backoff_ms:
            raise ValueError("max_retries >= 0 and 0 < min_backoff_ms <= max_backoff_ms")
        if self.redrive_after_s <= 0 or self.circuit_cooldown_s <= 0:
            raise ValueError("redrive_after_s and circuit_cooldown_s must be positive")
        if self.circuit_failures < 1 or self.rotation_grace_s < 0:
            raise ValueError("circuit_failures >= 1 and rotation_grace_s >= 0")

    def require_https(self, environment: str) -> bool:
        """Whether webhook URLs must be https: `https_only`, or by default in production."""
        return environment == "production" if self.https_only is None else self.https_only


class ChatSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Chat models and the shape of chat prompts (`AVATARADAM_CHAT_MODEL` picks the model)."""

    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    timeout_s: float = 60.0
    max_retries: int = 3
    temperature: float = 0.4
    local_model_path: str | None = None
    local_model_sha256: str | None = None
    local_context_tokens: int = 4096
    local_parallel: int = 2
    local_threads: int | None = None
    max_reply_tokens: int = 512
    roleplay_max_reply_tokens: int = 160
    history_budget_tokens: int = 1500
    history_fetch_limit: int = 60
    """Newest messages loaded from storage before the token window is applied."""
    top_k: int = 4
    roleplay_top_k: int = 3
    keepalive_s: float = 10.0
    extractive_delta_delay_s: float = 0.0
    support_threshold: float = 0.5
    min_relevance: float = 0.0

    def __post_init__(self) -> None:
        if self.keepalive_s <= 0 or self.timeout_s <= 0:
            raise ValueError("keepalive_s and timeout_s must be positive")
        if not 1 <= self.top_k <= 20 or self.max_reply_tokens < 16:
            raise ValueError("top_k must be 1..20 and max_reply_tokens at least 16")
        if not 1 <= self.roleplay_top_k <= 20 or self.roleplay_max_reply_tokens < 16:
            raise ValueError("roleplay_top_k must be 1..20, roleplay_max_reply_tokens >= 16")
        if self.history_fetch_limit < 1:
            raise ValueError("history_fetch_limit must be at least 1")
        if self.history_budget_tokens < 0 or self.extractive_delta_delay_s < 0:
            raise ValueError("history_budget_tokens and extractive_delta_delay_s must be >= 0")
        if self.local_context_tokens < 256 or not 1 <= self.local_parallel <= 16:
            raise ValueError("local_context_tokens must be at least 256 and local_parallel 1..16")
        if self.local_model_sha256 is not None and not re.fullmatch(
            r"[0-9a-fA-F]{64}", self.local_model_sha256
        ):
            raise ValueError("local_model_sha256 must be 64 hexadecimal digits")
        if not (-1 <= self.support_threshold <= 1 and -1 <= self.min_relevance <= 1):
            raise ValueError("support_threshold and min_relevance are cosine similarities, -1..1")


class RateLimitSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits per user per route class, per dealership, and failed password checks
    (sign-ins, password changes) per email + client address and per client address.

    A limit of 0 switches that policy off. Chat, search and upload fail open when Redis
    is unreachable (counted); sign-in fails closed (503) so the brute-force guard holds.
    """

    enabled: bool = True
    backend: Literal["redis", "memory"] = "redis"
    """`memory` counts per process: only for a single instance (development)."""
    chat_limit: int = 30
    chat_window_s: int = 60
    search_limit: int = 120
    search_window_s: int = 60
    upload_limit: int = 20
    upload_window_s: int = 60
    dealership_limit: int = 3000
    dealership_window_s: int = 60
    login_limit: int = 10
    login_window_s: int = 900
    fail_open: bool = True
    login_address_limit: int = 100
    """Failed password checks per client address, whatever the email (many staff may
    share one office address, hence looser than `login_limit`)."""
    login_address_window_s: int = 900

    def __post_init__(self) -> None:
        limits = [self.chat_limit, self.search_limit, self.upload_limit, self.dealership_limit]
        limits += [self.login_limit, self.login_address_limit]
        windows = [self.chat_window_s, self.search_window_s, self.upload_window_s]
        windows += [self.dealership_window_s, self.login_window_s, self.login_address_window_s]
        if any(v < 0 for v in limits):
            raise ValueError("limits must be >= 0 (0 switches a policy off)")
        if any(w < 1 for w in windows):
            raise ValueError("windows must be at least 1 second")


class BlobSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where uploaded files are kept: in PostgreSQL (default; every host sees them and
    they commit with their document) or in a directory (one host only)."""

    backend: Literal["postgres", "filesystem"] = "postgres"
    directory: str = "var/blobs"


class LoggingSettings(msgspec.Struct, frozen=True, kw_only=True):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The shared retrieval cache; `enabled=false` computes every search (benchmarks)."""

    enabled: bool = True
    retrieval_ttl_s: int = 3600
    embedding_ttl_s: int = 7 * 24 * 3600
    local_entries: int = 1024
    """Retrieval results also kept in each API process (LRU; 0 turns it off)."""
    answers: bool = True
    """Cache training answers to first questions (usecases/answers.py)."""
    answer_ttl_s: int = 3600
    lock_ttl_s: float = 10.0
    """How long a computing search holds its key; a crashed holder's lock expires."""
    wait_for_peer_s: float = 15.0
    """Longest a search waits for another's work, after which it computes uncached."""
    poll_interval_s: float = 0.01
    """How often a waiting search looks for the other's result."""
    answer_poll_interval_s: float = 0.05
    """How often a waiting chat request looks for the other's answer."""

    def __post_init__(self) -> None:
        if self.retrieval_ttl_s < 1 or self.embedding_ttl_s < 1 or self.answer_ttl_s < 1:
            raise ValueError("cache TTLs must be at least 1 second")
        if self.local_entries < 0:
            raise ValueError("local_entries must be 0 or more")
        waits = (self.lock_ttl_s, self.wait_for_peer_s)
        if min(waits) <= 0 or min(self.poll_interval_s, self.answer_poll_interval_s) <= 0:
            raise ValueError("cache lock, wait and poll intervals must be positive")


class UsageSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Monthly token budgets (domain/usecases/usage.py). A dealership's own budget, set
    by a super admin (`PATCH /v1/dealerships/{id}`), overrides the default."""

    monthly_token_budget: int = 0
    """Prompt plus completion tokens a dealership may spend per calendar month (UTC);
    0 = unlimited. Enforced exactly across instances through Redis."""

    def __post_init__(self) -> None:
        if self.monthly_token_budget < 0:
            raise ValueError("monthly_token_budget must be >= 0 (0 = unlimited)")


class WorkerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Worker observability: `metrics_port` set serves `/metrics` from each worker host
    (the first worker process to bind it); the heartbeat also refreshes the queue,
    document and pool gauges."""

    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    heartbeat_interval_s: float = 15.0
    nice: int = 0
    """Added to the worker processes' nice value (0-19). On a host shared with the API,
    ingestion (the embedder takes every core) then yields the CPU to requests."""
    drain_timeout_s: float = 25.0
    """From the first stop signal (SIGTERM, SIGHUP, Ctrl-C) until `avataradam worker` has
    exited: running tasks may finish until shortly before it, then they are interrupted
    and re-enqueued (see worker/shutdown.py). 25 s fits inside the 30 s an orchestrator
    (Kubernetes) waits by default before SIGKILL. A draining worker fetches nothing, so
    beyond the Redis broker's 30 s heartbeat timeout another worker may receive a task
    it still runs: an ingestion it still renews the lease of is skipped there."""

    def __post_init__(self) -> None:
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise ValueError("metrics_port must be 1..65535")
        if not 0 <= self.nice <= 19:
            raise ValueError("nice must be 0..19")
        if self.heartbeat_interval_s <= 0:
            raise ValueError("heartbeat_interval_s must be positive")
        if not 3 <= self.drain_timeout_s <= 3600:
            raise ValueError("drain_timeout_s must be 3..3600")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "avataradam"
    vector_backend: Literal["postgres", "pinecone", "memory"] = "postgres"
    embedder: Literal["local", "openai", "hashing"] = "local"
    chat_model: Literal["extractive", "openai", "local"] = "extractive"
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    ingestion: IngestionSettings = msgspec.field(default_factory=IngestionSettings)
    embedding: EmbeddingSettings = msgspec.field(default_factory=EmbeddingSettings)
    vectors: VectorSettings = msgspec.field(default_factory=VectorSettings)
    webhooks: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    chat: ChatSettings = msgspec.field(default_factory=ChatSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    worker: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    blobs: BlobSettings = msgspec.field(default_factory=BlobSettings)
    usage: UsageSettings = msgspec.field(default_factory=UsageSettings)

    def __post_init__(self) -> None:
        if self.environment == "production" and self.auth.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("AVATARADAM_AUTH_JWT_SECRET must be set in production")
        if self.vector_backend == "pinecone" and not (
            self.vectors.pinecone_api_key and self.vectors.pinecone_index_host
        ):
            raise ValueError(
                "vector_backend=pinecone needs AVATARADAM_VECTORS_PINECONE_API_KEY "
                "and AVATARADAM_VECTORS_PINECONE_INDEX_HOST"
            )
        if self.embedder == "openai" and not self.embedding.openai_api_key:
            raise ValueError("embedder=openai needs AVATARADAM_EMBEDDING_OPENAI_API_KEY")
        if self.chat_model == "openai" and not self.chat.openai_api_key:
            raise ValueError(
                "chat_model=openai needs AVATARADAM_CHAT_OPENAI_API_KEY (any value for a "
                "server without authentication)"
            )
        if self.chat_model == "local" and not self.chat.local_model_path:
            raise ValueError("chat_model=local needs AVATARADAM_CHAT_LOCAL_MODEL_PATH")


RETIRED_VARIABLES: dict[str, str] = {
    "AVATARADAM_PERSISTENCE": (
        "the service always keeps its state in PostgreSQL; tests build an in-memory"
        " world with build_container's overrides (tests/support/world.py)"
    ),
    "AVATARADAM_INGESTION_STALLED_TIMEOUT_S": (
        "a processing document is held by a renewed lease instead, see"
        " AVATARADAM_INGESTION_LEASE_S and AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S"
    ),
}
"""Variables that were settings once: set, they stop the process rather than be ignored."""


def _env_names(cls: type[msgspec.Struct], prefix: str) -> dict[tuple[str, ...], str]:
    names: dict[tuple[str, ...], str] = {}
    hints = get_type_hints(cls)
    for field in msgspec.structs.fields(cls):
        hint = hints[field.name]
        if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
            for path, name in _env_names(hint, f"{prefix}{field.name.upper()}_").items():
                names[(field.name, *path)] = name
        else:
            names[(field.name,)] = f"{prefix}{field.name.upper()}"
    return names


def env_variable_names() -> dict[tuple[str, ...], str]:
    """Every setting's path in the tree and the variable it is read from."""
    return _env_names(Settings, PREFIX)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)
    for name, instead in RETIRED_VARIABLES.items():
        if values.get(name):
            raise SettingsError(f"{name} is no longer read: {instead}")
    tree: dict[str, Any] = {}
    for path, name in env_variable_names().items():
        raw = values.get(name)
        if raw is None or raw == "":
            continue
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = raw
    try:
        return msgspec.convert(tree, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from exc


def _explain(message: str) -> str:
    """Turns msgspec's `... - at `$.http.port`` into the variable (or section) name."""
    text, separator, where = message.rpartition(" - at `$.")
    if not separator:
        return f"invalid settings: {message}"
    path = tuple(where.rstrip("`").split("."))
    name = env_variable_names().get(path) or PREFIX + "_".join(path).upper() + "_*"
    return f"{name}: {text}"
