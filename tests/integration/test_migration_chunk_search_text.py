"""Migration 0015 on a database with passages written before it: their `search_text` is
filled (document title, heading path, text), so keyword search finds them at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import psycopg

from avataradam.adapters.postgres.keywords import PostgresKeywordSearch
from avataradam.adapters.postgres.migrate import apply_migrations
from tests.support.migrations import apply_before

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


async def test_passages_written_before_the_migration_are_searchable_after_it(
    new_database: str,
) -> None:
    apply_before(new_database, "0015_chunk_search_text")
    dealership, titled, named = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(new_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dealerships (id, name, created_at, updated_at) VALUES (%s, 'D', %s, %s)",
            (dealership, T0, T0),
        )
        for document, filename, title in (
            (titled, "a.md", "Prepaid Maintenance"),
            (named, "tire_and-wheel.md", None),
        ):
            conn.execute(
                "INSERT INTO documents (id, dealership_id, topic, filename, content_type,"
                " size_bytes, sha256, status, created_at, updated_at, context_title)"
                " VALUES (%s, %s, 'playbooks', %s, 'text/markdown', 3, %s, 'ready', %s, %s, %s)",
                (document, dealership, filename, str(document), T0, T0, title),
            )
            conn.execute(
                "INSERT INTO chunks (id, document_id, dealership_id, index, text, topic,"
                " filename, section, section_path)"
                " VALUES (%s, %s, %s, 0, 'Three oil changes a year.', 'playbooks', %s,"
                " 'Claims', %s)",
                (f"{document}:0", document, dealership, filename, ["Coverage", "Claims"]),
            )

    assert "0015_chunk_search_text" in apply_migrations(new_database)

    pool = await asyncpg.create_pool(new_database, min_size=1, max_size=1)
    try:
        keywords = PostgresKeywordSearch(pool)
        assert await keywords.search(dealership, "prepaid oil changes", limit=5) == [f"{titled}:0"]
        assert await keywords.search(dealership, "wheel oil", limit=5) == [f"{named}:0"]
        both = await keywords.search(dealership, "coverage claims oil", limit=5)
        assert sorted(both) == sorted([f"{titled}:0", f"{named}:0"])
    finally:
        await pool.close()
