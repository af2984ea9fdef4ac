"""Migration 0009 on a database with documents processing at the upgrade: each is held
by a lease of its own until the old five-minute stall timeout after its last progress,
so it is neither `stalled` nor taken by a second worker before then."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from tests.support.migrations import apply_all_but

MIGRATION = "0009_processing_leases"
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def test_documents_processing_at_the_upgrade_get_a_lease_until_the_old_stall_timeout(
    new_database: str,
) -> None:
    apply_all_but(new_database, MIGRATION)
    dealership, processing, ready = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(new_database) as conn:
        conn.execute(
            "INSERT INTO dealerships (id, name, created_at, updated_at) VALUES (%s, 'D', %s, %s)",
            (dealership, T0, T0),
        )
        for document_id, status in ((processing, "processing"), (ready, "ready")):
            conn.execute(
                "INSERT INTO documents (id, dealership_id, topic, filename, content_type,"
                " size_bytes, sha256, status, created_at, updated_at) VALUES"
                " (%s, %s, 'books', 'f.pdf', 'application/pdf', 1, %s, %s, %s, %s)",
                (document_id, dealership, uuid.uuid4().hex, status, T0, T0 + timedelta(minutes=1)),
            )

    assert MIGRATION in apply_migrations(new_database)

    with psycopg.connect(new_database) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT id, lease_token, lease_expires_at, processing_started_at FROM documents"
            ).fetchall()
        }
    token, expires_at, started_at = rows[processing]
    assert token is not None
    assert expires_at == T0 + timedelta(minutes=1, seconds=300)
    assert started_at == T0 + timedelta(minutes=1)
    assert rows[ready] == (None, None, None)
