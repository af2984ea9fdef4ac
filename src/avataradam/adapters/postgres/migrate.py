"""Applies the versioned SQL migrations in `migrations/` with yoyo.

Concurrent starts are serialised by a session-level advisory lock rather than
yoyo's lock table: the server releases an advisory lock when its holder dies, so a
process killed mid-migration never leaves a stale lock behind.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x41564154  # "AVAT": one constant key for this schema's migrations


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme not in {"postgresql", "postgres"}:
        raise ValueError("migrations need a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


def apply_migrations(dsn: str) -> list[str]:
    """Applies pending migrations; returns the ids applied (empty when up to date)."""
    with psycopg.connect(dsn, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            backend = get_backend(_yoyo_url(dsn))
            try:
                pending = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
                backend.apply_migrations(pending)
                return [migration.id for migration in pending]
            finally:
                backend.connection.close()
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def pending_migrations(dsn: str) -> list[str]:
    backend = get_backend(_yoyo_url(dsn))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
    finally:
        backend.connection.close()
