"""Settings (AVATARADAM_* variables) of throwaway deployments: tests, drills, the bench."""

from __future__ import annotations

CHEAP_ARGON2 = {
    "AVATARADAM_AUTH_ARGON2_TIME_COST": "1",
    "AVATARADAM_AUTH_ARGON2_MEMORY_KIB": "8192",
}
"""Password hashing cheap enough for many sign-ins a minute (never a deployment's)."""

FAST_RECONCILE = {
    "AVATARADAM_INGESTION_RECONCILE_INTERVAL_S": "1",
    "AVATARADAM_INGESTION_QUEUED_TIMEOUT_S": "3",
    "AVATARADAM_INGESTION_LEASE_S": "6",
    "AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S": "1",
    "AVATARADAM_INGESTION_MIN_BACKOFF_MS": "200",
    "AVATARADAM_INGESTION_MAX_BACKOFF_MS": "2000",
    "AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S": "10",
}
"""A worker that re-drives lost work within seconds."""


def local_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """A test deployment on `database_url` and `redis_url`: cheap Argon2, the hashing
    embedder (no model to load)."""
    return {
        "AVATARADAM_ENVIRONMENT": "test",
        "AVATARADAM_DATABASE_URL": database_url,
        "AVATARADAM_REDIS_URL": redis_url,
        **CHEAP_ARGON2,
        "AVATARADAM_EMBEDDER": "hashing",
    }
