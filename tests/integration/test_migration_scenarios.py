"""Migration 0017 on a database with conversations started before scenarios existed: a
roleplay's `scenario_id` becomes the built-in scenario its persona key names (so it
goes on playing, and reads, as that scenario); training conversations get none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from avataradam.domain.training.scenarios import BUILT_IN
from tests.support.migrations import apply_before

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def test_roleplays_before_the_migration_practise_the_built_in_of_their_persona(
    new_database: str,
) -> None:
    apply_before(new_database, "0017_scenarios")
    dealership, user = uuid.uuid4(), uuid.uuid4()
    conversations = {
        uuid.uuid4(): ("roleplay", "already_covered"),
        uuid.uuid4(): ("training", "GAP objections"),
        uuid.uuid4(): ("training", None),
    }
    with psycopg.connect(new_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dealerships (id, name, created_at, updated_at) VALUES (%s, 'D', %s, %s)",
            (dealership, T0, T0),
        )
        conn.execute(
            "INSERT INTO users (id, email, password_hash, role, dealership_id, created_at,"
            " updated_at) VALUES (%s, %s, 'x', 'user', %s, %s, %s)",
            (user, f"{user}@example.com", dealership, T0, T0),
        )
        for conversation, (mode, scenario) in conversations.items():
            conn.execute(
                "INSERT INTO conversations (id, dealership_id, user_id, mode, scenario,"
                " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (conversation, dealership, user, mode, scenario, T0, T0),
            )

    assert "0017_scenarios" in apply_migrations(new_database)

    with psycopg.connect(new_database, autocommit=True) as conn:
        rows: dict[uuid.UUID, str | None] = dict(
            conn.execute("SELECT id, scenario_id FROM conversations").fetchall()
        )
    assert rows == {
        conversation: ("already_covered" if mode == "roleplay" else None)
        for conversation, (mode, _) in conversations.items()
    }
    assert "already_covered" in BUILT_IN
