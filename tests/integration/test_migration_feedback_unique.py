"""Migration 0007 on a database with data written before it: duplicate ratings collapse
to each user's latest, and upload keys that stored a document id get the first answer
they now replay (or go, when their document is gone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.domain.model import Document, DocumentStatus
from tests.support.migrations import apply_all_but

MIGRATION = "0007_feedback_unique"
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def _seed(conn: psycopg.Connection) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in ("d", "u", "v", "c", "m", "doc", "up", "down", "v_up")}
    conn.execute(
        "INSERT INTO dealerships (id, name, created_at, updated_at) VALUES (%s, 'D', %s, %s)",
        (ids["d"], T0, T0),
    )
    for user in ("u", "v"):
        conn.execute(
            "INSERT INTO users (id, email, password_hash, role, dealership_id, created_at,"
            " updated_at) VALUES (%s, %s, 'x', 'user', %s, %s, %s)",
            (ids[user], f"{ids[user]}@example.com", ids["d"], T0, T0),
        )
    conn.execute(
        "INSERT INTO conversations (id, dealership_id, user_id, mode, created_at, updated_at)"
        " VALUES (%s, %s, %s, 'training', %s, %s)",
        (ids["c"], ids["d"], ids["u"], T0, T0),
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, role, content, created_at)"
        " VALUES (%s, %s, 'assistant', 'GAP covers the gap.', %s)",
        (ids["m"], ids["c"], T0),
    )
    for name, user, rating, minutes in (
        ("up", "u", "up", 1),
        ("down", "u", "down", 2),
        ("v_up", "v", "up", 3),
    ):
        conn.execute(
            "INSERT INTO message_feedback (id, message_id, conversation_id, dealership_id,"
            " user_id, rating, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                ids[name],
                ids["m"],
                ids["c"],
                ids["d"],
                ids[user],
                rating,
                T0 + timedelta(minutes=minutes),
            ),
        )
    conn.execute(
        "INSERT INTO documents (id, dealership_id, topic, filename, content_type, size_bytes,"
        " sha256, status, progress, chunk_count, attempts, created_at, updated_at) VALUES"
        " (%s, %s, 'books', 'gap.txt', 'text/plain', 12, 'abc', 'ready', 1, 3, 1, %s, %s)",
        (ids["doc"], ids["d"], T0, T0 + timedelta(minutes=5)),
    )
    for key, document_id in (("kept", ids["doc"]), ("gone", uuid.uuid4())):
        conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, body,"
            " created_at) VALUES (%s, %s, 'h', 202, %s, %s)",
            (f"documents:{ids['d']}", key, str(document_id).encode(), T0),
        )
    return ids


def test_0007_keeps_each_users_latest_rating_and_rebuilds_upload_answers(
    new_database: str,
) -> None:
    apply_all_but(new_database, MIGRATION)
    with psycopg.connect(new_database, autocommit=True) as conn:
        ids = _seed(conn)

    assert MIGRATION in apply_migrations(new_database)

    with psycopg.connect(new_database) as conn:
        ratings = conn.execute(
            "SELECT id, rating, created_at = updated_at FROM message_feedback ORDER BY created_at"
        ).fetchall()
        keys = conn.execute("SELECT key, body FROM idempotency_keys ORDER BY key").fetchall()
    assert ratings == [(ids["down"], "down", True), (ids["v_up"], "up", True)]
    [(key, body)] = keys
    assert key == "kept"
    answer = msgspec.json.decode(body, type=Document)
    assert (answer.id, answer.filename, answer.size_bytes, answer.sha256) == (
        ids["doc"],
        "gap.txt",
        12,
        "abc",
    )
    assert (answer.status, answer.chunk_count, answer.progress) == (DocumentStatus.QUEUED, 0, 0.0)
    assert answer.created_at == answer.updated_at == T0
