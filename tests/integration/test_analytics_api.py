"""Managers' analytics through the HTTP API on real PostgreSQL (issue 18).

Roleplay sessions are started, played, completed through the API and scored by the
shared real worker; training questions and ratings go through the API too. Every
expected number is computed here from what the API answered for those sessions
(scorecards, messages), never read from the rollups the endpoints use.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from avataradam.domain.usecases.analytics import normalise_question
from tests.integration.conftest import PASSWORD, Account, Tenant, problem, sign_in
from tests.support.processes import ServiceProcess

TRANSCRIPT = Path(__file__).parents[1] / "data" / "transcripts" / "t01_exemplary_vsc_en.json"
TRAINEE_LINES = [
    m["text"] for m in json.loads(TRANSCRIPT.read_text())["messages"] if m["role"] == "user"
]
QUESTIONS = [
    "How do I handle a price objection on GAP?",
    "  how do I handle a PRICE objection   on gap ",
    "What is a vehicle service contract?",
]
CSV_TYPE = "text/csv"


async def _trainee(client: httpx.AsyncClient, super_admin: Account, tenant: Tenant) -> Account:
    email = f"trainee-{uuid.uuid4().hex[:8]}@example.com"
    created = await client.post(
        "/v1/users",
        json={
            "email": email,
            "password": PASSWORD,
            "role": "user",
            "dealership_id": tenant.dealership_id,
            "first_name": "Dana",
            "last_name": "Reyes",
        },
        headers=super_admin.headers,
    )
    assert created.status_code == 201, created.text
    return await sign_in(client, email, tenant.dealership_id)


async def _played(client: httpx.AsyncClient, trainee: Account, turns: int) -> tuple[str, str]:
    """A roleplay with `turns` trainee lines; its id and the last reply's id."""
    started = await client.post(
        "/v1/conversations", json={"mode": "roleplay"}, headers=trainee.headers
    )
    assert started.status_code == 201, started.text
    conversation_id = str(started.json()["id"])
    reply = ""
    for line in TRAINEE_LINES[:turns]:
        said = await client.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": line},
            headers=trainee.headers,
        )
        assert said.status_code == 201, said.text
        reply = str(said.json()["id"])
    return conversation_id, reply


async def _scored(client: httpx.AsyncClient, trainee: Account, conversation_id: str) -> Any:
    path = f"/v1/conversations/{conversation_id}"
    completed = await client.post(f"{path}/complete", headers=trainee.headers)
    assert completed.status_code == 202, completed.text
    deadline = time.monotonic() + 90
    while True:
        card = (await client.get(f"{path}/scorecard", headers=trainee.headers)).json()
        if card["status"] == "scored":
            return card
        assert card["status"] == "pending", card
        assert time.monotonic() < deadline, "the session was not scored"
        await asyncio.sleep(0.2)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@pytest.fixture
async def activity(
    client: httpx.AsyncClient, super_admin: Account, tenant: Tenant, worker: ServiceProcess
) -> dict[str, Any]:
    """Two trainees' sessions (three scored, one open), questions and ratings."""
    second = await _trainee(client, super_admin, tenant)
    cards, replies = [], []
    for trainee, turns in ((tenant.user, 6), (tenant.user, 1), (second, 3)):
        conversation_id, reply = await _played(client, trainee, turns)
        replies.append((trainee, reply))
        cards.append((trainee, await _scored(client, trainee, conversation_id)))
    await _played(client, second, 1)  # left open: started, not completed
    training = await client.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    assert training.status_code == 201, training.text
    for question in QUESTIONS:
        asked = await client.post(
            f"/v1/conversations/{training.json()['id']}/messages",
            json={"content": question},
            headers=tenant.user.headers,
        )
        assert asked.status_code == 201, asked.text
    ratings = [("up", None), ("down", "The GAP price is out of date."), ("down", None)]
    for (trainee, reply), (rating, reason) in zip(replies, ratings, strict=True):
        rated = await client.post(
            f"/v1/messages/{reply}/feedback",
            json={"rating": rating, "reason": reason},
            headers=trainee.headers,
        )
        assert rated.status_code in (200, 201), rated.text
    return {"second": second, "cards": cards}


async def test_overview_numbers_equal_those_of_the_sessions_created(
    client: httpx.AsyncClient, tenant: Tenant, activity: dict[str, Any]
) -> None:
    """Given scored and open sessions, questions and ratings made through the API, when
    the admin reads the overview, then every number equals the one computed here."""
    cards = [card for _, card in activity["cards"]]
    response = await client.get("/v1/analytics/overview", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()

    overall = [card["overall"] for card in cards]
    passed = sum(card["passed"] for card in cards)
    assert body["active_users"] == 2
    assert body["conversations"] == 5
    assert (body["sessions_started"], body["sessions_completed"], body["scored"]) == (4, 3, 3)
    assert body["average_score"] == round(sum(overall) / 3, 1)
    assert body["pass_rate"] == _rate(passed, 3)
    assert sum(w["sessions_started"] for w in body["weekly"]) == 4
    assert sum(w["scored"] for w in body["weekly"]) == 3

    verdicts: dict[str, Counter[str]] = {}
    blockers = set()
    for card in cards:
        for criterion in card["criteria"]:
            if criterion["verdict"] != "not_applicable":
                verdicts.setdefault(criterion["id"], Counter())[criterion["verdict"]] += 1
            if criterion["blocker"]:
                blockers.add(criterion["id"])
    expected = {
        cid: (c["met"], c.total(), _rate(c["met"], c.total())) for cid, c in verdicts.items()
    }
    got = {c["criterion_id"]: (c["met"], c["total"], c["pass_rate"]) for c in body["criteria"]}
    assert got == expected
    assert {c["criterion_id"] for c in body["blockers"]} == blockers & set(expected)
    rates = [c["pass_rate"] for c in body["criteria"]]
    assert rates == sorted(rates)
    assert all(not c["blocker"] and c["total"] >= 5 for c in body["weakest_skills"])

    asked = Counter(normalise_question(q) for q in QUESTIONS)
    assert {(q["question"], q["asked"]) for q in body["top_questions"]} == set(asked.items())
    assert body["top_questions"][0] == {
        "question": "how do i handle a price objection on gap",
        "asked": 2,
    }
    assert body["feedback"] == {"up": 1, "down": 2, "inaccurate": 1}
    # The open knowledge gaps, as their own list has them (the worker may still be
    # grouping the questions just asked: read both until they agree).
    deadline = time.monotonic() + 30
    while True:
        gaps = await client.get(
            "/v1/analytics/knowledge-gaps?status=open&limit=10", headers=tenant.admin.headers
        )
        listed = [(g["id"], g["title"], g["count"]) for g in gaps.json()["items"]]
        overview = (await client.get("/v1/analytics/overview", headers=tenant.admin.headers)).json()
        shown = [(g["gap_id"], g["title"], g["count"]) for g in overview["knowledge_gaps"]]
        if shown == listed or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert shown == listed


async def test_rollups_kept_by_each_event_equal_a_rebuild_from_the_raw_rows(
    tenant: Tenant, activity: dict[str, Any], pg_pool: asyncpg.Pool
) -> None:
    """Given the rollups the triggers kept while the activity happened, when they are
    rebuilt from the raw rows, then the dealership's rows are the same."""
    dealership = uuid.UUID(tenant.dealership_id)
    tables = ("analytics_daily", "criterion_daily", "question_daily", "feedback_daily")

    async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        return {
            table: sorted(
                tuple(row)
                for row in await pg_pool.fetch(
                    f"SELECT * FROM {table} WHERE dealership_id = $1",  # noqa: S608 - constants
                    dealership,
                )
            )
            for table in tables
        }

    kept = await snapshot()
    await pg_pool.execute("SELECT analytics_rebuild()")
    rebuilt = await snapshot()
    assert kept == rebuilt
    assert kept["analytics_daily"]


async def test_a_person_reads_their_own_analytics_and_no_one_elses(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, activity: dict[str, Any]
) -> None:
    """Given two trainees of one dealership and another dealership, then a trainee reads
    their own analytics only, an admin their dealership's, and nobody another's (404)."""
    second: Account = activity["second"]
    mine = [card for trainee, card in activity["cards"] if trainee is tenant.user]
    own = await client.get(f"/v1/analytics/users/{tenant.user.id}", headers=tenant.user.headers)
    assert own.status_code == 200, own.text
    body = own.json()
    assert (body["sessions_started"], body["scored"]) == (2, 2)
    assert body["average_score"] == round(sum(c["overall"] for c in mine) / 2, 1)
    assert {s["conversation_id"]: s["overall"] for s in body["sessions"]} == {
        c["conversation_id"]: c["overall"] for c in mine
    }
    assert sum(c["total"] for c in body["criteria_trend"]) == sum(
        1 for c in mine for k in c["criteria"] if k["verdict"] != "not_applicable"
    )
    by_admin = await client.get(f"/v1/analytics/users/{second.id}", headers=tenant.admin.headers)
    assert by_admin.status_code == 200
    assert by_admin.json()["display_name"] == "Dana Reyes"
    assert by_admin.json()["sessions_started"] == 2

    for path, account in (
        (f"/v1/analytics/users/{second.id}", tenant.user),
        (f"/v1/analytics/users/{tenant.user.id}", other_tenant.admin),
        (f"/v1/analytics/users/{tenant.user.id}", other_tenant.user),
        (f"/v1/analytics/overview?dealership_id={tenant.dealership_id}", other_tenant.admin),
    ):
        refused = await client.get(path, headers=account.headers)
        assert refused.status_code == 404, (path, refused.text)
        assert problem(refused)["code"] == "not_found"
    theirs = await client.get("/v1/analytics/overview", headers=other_tenant.admin.headers)
    assert theirs.json()["sessions_started"] == 0
    assert theirs.json()["top_questions"] == []
    trainee = await client.get("/v1/analytics/overview", headers=tenant.user.headers)
    assert trainee.status_code == 403


async def test_a_persons_view_lists_their_assignments_with_their_own_progress(
    client: httpx.AsyncClient, tenant: Tenant, activity: dict[str, Any]
) -> None:
    """Given an assignment of two trainees, each one's view lists it with their own
    progress (as `GET /v1/assignments` says it), and nobody else's assignments."""
    second: Account = activity["second"]
    created = await client.post(
        "/v1/assignments",
        json={
            "scenario_id": "gap_negative_equity",
            "assignee_ids": [tenant.user.id, second.id],
            "due_at": "2999-01-01T00:00:00Z",
            "min_score": 60,
            "min_attempts": 2,
        },
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    only_second = await client.post(
        "/v1/assignments",
        json={
            "scenario_id": "skeptical",
            "assignee_ids": [second.id],
            "due_at": "2999-01-01T00:00:00Z",
            "min_score": 60,
        },
        headers=tenant.admin.headers,
    )
    assert only_second.status_code == 201, only_second.text
    own = (
        await client.get(f"/v1/analytics/users/{tenant.user.id}", headers=tenant.user.headers)
    ).json()["assignments"]
    listed = (await client.get("/v1/assignments", headers=tenant.user.headers)).json()["items"]
    assert [a["assignment_id"] for a in own] == [a["id"] for a in listed]
    assert created.json()["id"] in {a["assignment_id"] for a in own}
    assert only_second.json()["id"] not in {a["assignment_id"] for a in own}
    for item, reference in zip(own, listed, strict=True):
        (progress,) = reference["assignees"]
        assert {k: item[k] for k in ("status", "attempts", "best_score", "completed_at")} == {
            k: progress[k] for k in ("status", "attempts", "best_score", "completed_at")
        }
        assert (item["min_score"], item["due_at"]) == (reference["min_score"], reference["due_at"])
    theirs = (
        await client.get(f"/v1/analytics/users/{second.id}", headers=tenant.admin.headers)
    ).json()["assignments"]
    assert {created.json()["id"], only_second.json()["id"]} <= {a["assignment_id"] for a in theirs}


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    # RFC 4180's header parameter, and the charset once (RFC 6838 §4.3: a parameter only once)
    assert response.headers["content-type"] == "text/csv; header=present; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text)))


def _cells(item: dict[str, Any]) -> dict[str, str]:
    """A JSON item as the CSV writes it."""
    return {
        key: "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
        for key, value in item.items()
        if not isinstance(value, list | dict)
    }


async def test_every_analytics_list_parses_as_csv_and_matches_the_json(
    client: httpx.AsyncClient,
    super_admin: Account,
    tenant: Tenant,
    activity: dict[str, Any],
    pg_pool: asyncpg.Pool,
) -> None:
    admin = tenant.admin.headers
    csv_headers = admin | {"Accept": CSV_TYPE}
    # The worker groups the session's knowledge-gap questions: let it finish first.
    deadline = time.monotonic() + 30
    while await pg_pool.fetchval(
        "SELECT count(*) FROM knowledge_gap_questions WHERE dealership_id = $1 AND gap_id IS NULL",
        uuid.UUID(tenant.dealership_id),
    ):
        assert time.monotonic() < deadline, "the knowledge-gap questions were never grouped"
        await asyncio.sleep(0.2)
    overview = (await client.get("/v1/analytics/overview", headers=admin)).json()
    for section in (
        "weekly",
        "criteria",
        "blockers",
        "weakest_skills",
        "top_questions",
        "knowledge_gaps",
    ):
        rows = _rows(
            await client.get(f"/v1/analytics/overview?section={section}", headers=csv_headers)
        )
        expected = [_cells({k: v for k, v in i.items() if k != "week" or section == "weekly"})
                    for i in overview[section]]  # fmt: skip
        assert rows == expected, section
    (summary,) = _rows(
        await client.get("/v1/analytics/overview?section=summary", headers=csv_headers)
    )
    assert summary["scored"] == str(overview["scored"])
    assert summary["average_score"] == str(overview["average_score"])
    assert summary["feedback_inaccurate"] == "1"

    path = f"/v1/analytics/users/{tenant.user.id}"
    person = (await client.get(path, headers=admin)).json()
    for section in ("sessions", "weekly", "criteria_trend", "assignments"):
        rows = _rows(await client.get(f"{path}?section={section}", headers=csv_headers))
        assert rows == [_cells(item) for item in person[section]], section
        assert rows or section != "sessions"

    enabled = await client.patch(
        f"/v1/dealerships/{tenant.dealership_id}",
        json={"leaderboard_enabled": True},
        headers=super_admin.headers,
    )
    assert enabled.status_code == 200
    assert enabled.json()["leaderboard_enabled"] is True
    board = (await client.get("/v1/analytics/leaderboard", headers=admin)).json()
    rows = _rows(await client.get("/v1/analytics/leaderboard", headers=csv_headers))
    assert rows == [_cells(item) for item in board["items"]]


async def test_the_leaderboard_is_opt_in_and_shows_ranks_not_transcripts(
    client: httpx.AsyncClient, super_admin: Account, tenant: Tenant, activity: dict[str, Any]
) -> None:
    off = await client.get("/v1/analytics/leaderboard", headers=tenant.user.headers)
    assert off.status_code == 403
    assert problem(off)["code"] == "feature_disabled"
    patched = await client.patch(
        f"/v1/dealerships/{tenant.dealership_id}",
        json={"leaderboard_enabled": True},
        headers=super_admin.headers,
    )
    assert patched.status_code == 200, patched.text
    board = await client.get("/v1/analytics/leaderboard", headers=tenant.user.headers)
    assert board.status_code == 200, board.text
    items = board.json()["items"]
    by_user: dict[str, list[int]] = {}
    for trainee, card in activity["cards"]:
        by_user.setdefault(trainee.id, []).append(card["overall"])
    assert {i["user_id"]: (i["sessions"], i["best_score"]) for i in items} == {
        user: (len(scores), max(scores)) for user, scores in by_user.items()
    }
    averages = [i["average_score"] for i in items]
    assert averages == sorted(averages, reverse=True)
    assert items[0]["rank"] == 1
    assert [i["you"] for i in items].count(True) == 1
    assert set(items[0]) == {
        "rank", "user_id", "display_name", "sessions", "average_score", "best_score",
        "pass_rate", "you",
    }  # fmt: skip


async def test_ranges_are_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    backwards = await client.get(
        "/v1/analytics/overview?from=2026-03-02&to=2026-03-01", headers=headers
    )
    assert backwards.status_code == 422
    too_long = await client.get(
        "/v1/analytics/overview?from=2024-01-01&to=2026-01-01", headers=headers
    )
    assert too_long.status_code == 422
    bad_section = await client.get(
        "/v1/analytics/overview?section=nope", headers=headers | {"Accept": CSV_TYPE}
    )
    assert bad_section.status_code == 400
