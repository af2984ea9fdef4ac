"""Migration 0022 on a database with history: the rollups it creates are backfilled from
the sessions, scorecards, questions and ratings already there, and from then on the
triggers keep them (a rescore moves the numbers, it does not add to them)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from tests.support.migrations import apply_before

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _body(overall: int, verdicts: dict[str, str], *, passed: bool) -> str:
    criteria = [
        {"id": cid, "title": cid.title(), "verdict": v, "blocker": cid == "compliance"}
        for cid, v in verdicts.items()
    ]
    return json.dumps({"overall": overall, "passed": passed, "criteria": criteria})


def _rollups(conn: psycopg.Connection[Any], dealership: uuid.UUID) -> dict[str, Any]:
    daily = conn.execute(
        "SELECT day, conversations, sessions_started, sessions_completed, scored, score_sum,"
        " passed FROM analytics_daily WHERE dealership_id = %s ORDER BY day",
        (dealership,),
    ).fetchall()
    criteria = conn.execute(
        "SELECT criterion_id, blocker, met, total FROM criterion_daily"
        " WHERE dealership_id = %s ORDER BY criterion_id",
        (dealership,),
    ).fetchall()
    questions = conn.execute(
        "SELECT question, asked FROM question_daily WHERE dealership_id = %s", (dealership,)
    ).fetchall()
    feedback = conn.execute(
        "SELECT up, down, inaccurate FROM feedback_daily WHERE dealership_id = %s", (dealership,)
    ).fetchall()
    return {"daily": daily, "criteria": criteria, "questions": questions, "feedback": feedback}


def test_existing_history_is_backfilled_and_then_kept_by_the_triggers(new_database: str) -> None:
    apply_before(new_database, "0022_analytics")
    dealership, user = uuid.uuid4(), uuid.uuid4()
    roleplay, training = uuid.uuid4(), uuid.uuid4()
    answer = uuid.uuid4()
    done = T0 + timedelta(days=1)
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
        sessions = ((roleplay, "roleplay", done), (training, "training", None))
        for conversation, mode, completed in sessions:
            conn.execute(
                "INSERT INTO conversations (id, dealership_id, user_id, mode, created_at,"
                " updated_at, completed_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (conversation, dealership, user, mode, T0, T0, completed),
            )
        for content in ("What does GAP cover?", "what does gap   cover"):
            conn.execute(
                "INSERT INTO messages (id, conversation_id, role, content, created_at)"
                " VALUES (%s, %s, 'user', %s, %s)",
                (uuid.uuid4(), training, content, T0),
            )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, content, created_at)"
            " VALUES (%s, %s, 'assistant', 'It covers the gap.', %s)",
            (answer, training, T0),
        )
        conn.execute(
            "INSERT INTO message_feedback (id, message_id, conversation_id, dealership_id,"
            " user_id, rating, reason, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, 'down', 'Wrong price.', %s, %s)",
            (uuid.uuid4(), answer, training, dealership, user, T0, T0),
        )
        conn.execute(
            "INSERT INTO scorecards (conversation_id, dealership_id, user_id, status, rubric_id,"
            " rubric_version, scorer_kind, body, created_at, updated_at)"
            " VALUES (%s, %s, %s, 'scored', 'fi-office', 1, 'rules', %s, %s, %s)",
            (roleplay, dealership, user,
             _body(80, {"discovery": "met", "compliance": "met", "menu": "not_applicable"},
                   passed=True),
             done, done),
        )  # fmt: skip

    assert "0022_analytics" in apply_migrations(new_database)

    with psycopg.connect(new_database, autocommit=True) as conn:
        backfilled = _rollups(conn, dealership)
        assert backfilled == {
            "daily": [(T0.date(), 2, 1, 0, 0, 0, 0), (done.date(), 0, 0, 1, 1, 80, 1)],
            "criteria": [("compliance", True, 1, 1), ("discovery", False, 1, 1)],
            "questions": [("what does gap cover", 2)],
            "feedback": [(0, 1, 1)],
        }
        rescored = _body(40, {"discovery": "missed", "compliance": "missed"}, passed=False)
        conn.execute(
            "UPDATE scorecards SET body = %s WHERE conversation_id = %s", (rescored, roleplay)
        )
        conn.execute("UPDATE message_feedback SET rating = 'up', reason = NULL")
        kept = _rollups(conn, dealership)
    assert kept["daily"][1] == (done.date(), 0, 0, 1, 1, 40, 0)
    assert kept["criteria"] == [("compliance", True, 0, 1), ("discovery", False, 0, 1)]
    assert kept["feedback"] == [(1, 0, 0)]
