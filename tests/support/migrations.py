"""A database as it was before one migration, for tests of that migration's upgrade."""

from __future__ import annotations

from yoyo import get_backend, read_migrations

from avataradam.adapters.postgres.migrate import MIGRATIONS_DIR


def apply_all_but(dsn: str, migration: str) -> None:
    """Applies every migration of the project to `dsn` except `migration` (its id)."""
    backend = get_backend("postgresql+psycopg://" + dsn.partition("://")[2])
    try:
        earlier = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id != migration)
        backend.apply_migrations(backend.to_apply(earlier))
    finally:
        backend.connection.close()


def apply_before(dsn: str, migration: str) -> None:
    """Applies every migration of the project to `dsn` whose id sorts before `migration`
    (the database as it was before it and every later one)."""
    backend = get_backend("postgresql+psycopg://" + dsn.partition("://")[2])
    try:
        earlier = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < migration)
        backend.apply_migrations(backend.to_apply(earlier))
    finally:
        backend.connection.close()
