"""The schema's migrations: applied once, idempotent, safe under concurrent starts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations, pending_migrations


def test_concurrent_migrations_apply_each_migration_exactly_once(new_database: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(apply_migrations, [new_database] * 4))
    applied = [mid for result in results for mid in result]
    assert sorted(applied) == sorted(set(applied)), "a migration ran twice"
    assert applied, "no migration ran"
    assert pending_migrations(new_database) == []
    with psycopg.connect(new_database) as conn:
        row = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
    assert row is not None
    assert row[0] == len(applied)


def test_rerunning_migrations_on_an_up_to_date_database_applies_nothing(new_database: str) -> None:
    apply_migrations(new_database)
    assert apply_migrations(new_database) == []
