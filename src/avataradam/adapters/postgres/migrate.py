"""Applies the versioned SQL migrations in `migrations/` with yoyo.

Concurrent starts are serialised by a session-level advisory lock rather than
yoyo's lock table: the server releases an advisory lock when its holder dies, so a
process killed mid-migration never leaves a stale lock behind.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

from avataradam.domain.errors import DependencyUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x41564154  # "AVAT": one constant key for this schema's migrations


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme not in {"postgresql", "postgres"}:
        raise ValueError("migrations need a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


def apply_migrations(dsn: str) -> list[str]:
    """Applies pending migrations; returns the ids applied (empty when up to date).
    Raises DependencyUnavailable, naming AVATARADAM_DATABASE_URL and the server's
    reason (never the password), when the database cannot be reached."""
    try:
        lock = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DependencyUnavailable(
            f"cannot connect to the database of AVATARADAM_DATABASE_URL: {reason} "
            "(create the database, or point the variable at one that exists)"
        ) from exc
    with lock as lock_conn:
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


VECTOR_GENERATIONS = "0013_vector_generations"
"""The migration after which a dealership records the profile of its vectors."""


def record_legacy_vector_profile(dsn: str, profile: str) -> int:
    """Records `profile` as the vector profile of every dealership with documents and
    none recorded (vectors written before `VECTOR_GENERATIONS`); answers how many."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(
            "UPDATE dealerships d SET vector_profile = %s WHERE vector_profile IS NULL"
            " AND EXISTS (SELECT 1 FROM documents WHERE dealership_id = d.id)",
            (profile,),
        )
        return cursor.rowcount


def pending_migrations(dsn: str) -> list[str]:
    backend = get_backend(_yoyo_url(dsn))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
    finally:
        backend.connection.close()
