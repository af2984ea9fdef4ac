"""Applies the versioned SQL migrations in `migrations/` with yoyo.

Concurrent starts are serialised by a session-level advisory lock rather than
yoyo's lock table: the server releases an advisory lock when its holder dies, so a
process killed mid-migration never leaves a stale lock behind.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend

from avataradam.domain.errors import DependencyUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x41564154  # "AVAT": one constant key for this schema's migrations


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme not in {"postgresql", "postgres"}:
        raise ValueError("migrations need a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


def pinned_url(dsn: str, host: str, port: int) -> str:
    """`dsn` with its hosts replaced by the one server `host:port`, as a yoyo URL.

    yoyo reads one `host:port` only, so a libpq multi-host URL (`h1:5432,h2:5432/db?
    target_session_attrs=read-write`, the primary of a failover pair) is pinned to the
    server a connection of `dsn` reached; other parameters are kept. A single-host URL
    is only re-schemed.
    """
    params = conninfo_to_dict(dsn)
    if "," not in str(params.get("host", "")) + str(params.get("port", "")):
        return _yoyo_url(dsn)
    for key in ("hostaddr", "target_session_attrs"):
        params.pop(key, None)
    # host and port as parameters (yoyo passes them to psycopg), so that a socket
    # directory works as well as an address
    params.update(host=host, port=str(port))
    user = quote(str(params.pop("user", "")), safe="")
    password = params.pop("password", None)
    credentials = f"{user}:{quote(str(password), safe='')}@" if password else f"{user}@"
    database = quote(str(params.pop("dbname", "")), safe="")
    query = urlencode({key: str(value) for key, value in params.items()})
    return f"postgresql+psycopg://{credentials}/{database}?{query}"


def _connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DependencyUnavailable(
            f"cannot connect to the database of AVATARADAM_DATABASE_URL: {reason} "
            "(create the database, or point the variable at one that exists)"
        ) from exc


def _backend(dsn: str, connection: psycopg.Connection[tuple[object, ...]]) -> DatabaseBackend:
    """yoyo's backend on the server `connection` reached (see `pinned_url`)."""
    return get_backend(pinned_url(dsn, connection.info.host, connection.info.port))


def apply_migrations(dsn: str) -> list[str]:
    """Applies pending migrations; returns the ids applied (empty when up to date).
    Raises DependencyUnavailable, naming AVATARADAM_DATABASE_URL and the server's
    reason (never the password), when the database cannot be reached."""
    with _connect(dsn) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            backend = _backend(dsn, lock_conn)
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
    with _connect(dsn) as connection:
        backend = _backend(dsn, connection)
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
    finally:
        backend.connection.close()
