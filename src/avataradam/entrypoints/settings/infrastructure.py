"""Settings sections of the service's infrastructure: database, Redis, HTTP server,
authentication, rate limits, blob storage, logging and the worker process.

Each section is read from `AVATARADAM_<SECTION>_<FIELD>` (see the package docstring).
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

_ORIGIN = re.compile(
    r"https?://(?:[a-z0-9-]+\.)*[a-z0-9-]+(?::[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](?::[0-9]{1,5})?"
)
"""An origin as browsers serialise it (RFC 6454): lower-case scheme and host, no path."""
DEV_JWT_SECRET = "avataradam-development-secret-do-not-use-in-production"  # noqa: S105 -- refused outside development


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
    queue_heartbeat_timeout_s: float = 30.0
    """A worker process silent this long is dead to the task queue: the messages it had
    taken and not finished go back to their queues (Dramatiq's Redis broker
    `heartbeat_timeout`). A worker beats with every command it sends, polling an idle
    queue about once a second; at least 5 s, so a busy host's workers are never taken
    for dead."""

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        if self.queue_heartbeat_timeout_s < 5:
            raise ValueError("queue_heartbeat_timeout_s must be at least 5 seconds")


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
    web_dir: str = ""
    """Directory of the built web client (`npm run build` of `web/`), served at `/`;
    empty: `web/dist` of the source checkout the package runs from."""

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


class RateLimitSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits per user per route class, per dealership, and failed password checks
    (sign-ins, password changes) per email + client address and per client address.

    A limit of 0 switches that policy off. Chat, search, upload and speech fail open when Redis
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
    speech_limit: int = 60
    """Speech requests per user (synthesis, a reply's audio, transcription, avatar
    sessions): a spoken chat turn takes about three."""
    speech_window_s: int = 60
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
        limits += [self.login_limit, self.login_address_limit, self.speech_limit]
        windows = [self.chat_window_s, self.search_window_s, self.upload_window_s]
        windows += [self.speech_window_s]
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
