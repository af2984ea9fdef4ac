"""Assignments through the real API, with the shared real worker scoring the sessions
and delivering the webhooks (issue 18): an admin assigns a scenario, the trainee
practises it with `assignment_id`, the scorecards make the assignee `done` (announced
once by `assignment.completed`), an assignee past the due date is reminded once by
`assignment.overdue` while two worker processes run the periodic tick, and nobody
reads or writes what is not theirs."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.conftest import PASSWORD, Account, Tenant, problem, sign_in
from tests.integration.test_webhooks_e2e import Receiver
from tests.support.processes import ServiceProcess

TRANSCRIPTS = Path(__file__).parents[1] / "data" / "transcripts"


def trainee_lines(name: str) -> list[str]:
    messages = json.loads((TRANSCRIPTS / name).read_text())["messages"]
    return [m["text"] for m in messages if m["role"] == "user"]


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    """A local receiver answering 200 to every delivery."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: PLC0415
    from threading import Thread  # noqa: PLC0415

    state = Receiver(failures=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(state.handle({k.lower(): v for k, v in self.headers.items()}, body))
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()


def events(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    bodies = [json.loads(body) for _, body in receiver.received]
    return [b for b in bodies if b["type"] == kind]


async def subscribe(client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["assignment.completed", "assignment.overdue"]},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text


def due_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def assign(client: httpx.AsyncClient, admin: Account, **body: Any) -> dict[str, Any]:
    fields = {"scenario_id": "gap_negative_equity", "due_at": due_in(timedelta(days=7))}
    response = await client.post("/v1/assignments", json=fields | body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/assignments/{created['id']}"
    return created


async def practise(
    client: httpx.AsyncClient, trainee: Account, assignment_id: str, lines: list[str]
) -> dict[str, Any]:
    """A roleplay started for the assignment, completed and scored: its scorecard."""
    started = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "assignment_id": assignment_id},
        headers=trainee.headers,
    )
    assert started.status_code == 201, started.text
    assert started.json()["assignment_id"] == assignment_id
    assert started.json()["scenario_id"] == "gap_negative_equity"
    conversation_id = started.json()["id"]
    for line in lines:
        said = await client.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": line},
            headers=trainee.headers,
        )
        assert said.status_code == 201, said.text
    completed = await client.post(
        f"/v1/conversations/{conversation_id}/complete", headers=trainee.headers
    )
    assert completed.status_code == 202, completed.text
    deadline = time.monotonic() + 90
    while True:
        card = await client.get(
            f"/v1/conversations/{conversation_id}/scorecard", headers=trainee.headers
        )
        body: dict[str, Any] = card.json()
        if body["status"] != "pending":
            assert body["status"] == "scored", body
            return body
        assert time.monotonic() < deadline, "the session was never scored"
        await asyncio.sleep(0.3)


async def wait_for(receiver: Receiver, kind: str, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(events(receiver, kind)) < count:
        assert time.monotonic() < deadline, f"{kind}: {len(events(receiver, kind))} of {count}"
        await asyncio.sleep(0.3)  # the receiver runs in another thread


async def test_practising_an_assignment_completes_it_and_announces_it_once(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess, hooks: Receiver
) -> None:
    await subscribe(client, tenant, hooks)
    created = await assign(
        client, tenant.admin, assignee_ids=[tenant.user.id], min_score=0, min_attempts=1
    )
    assert [(a["user_id"], a["status"], a["attempts"]) for a in created["assignees"]] == [
        (tenant.user.id, "open", 0)
    ]
    blocked = await practise(
        client, tenant.user, created["id"], trainee_lines("t04_blocker_credit_en.json")
    )
    assert blocked["blockers_failed"]
    mine = (
        await client.get(f"/v1/assignments/{created['id']}", headers=tenant.user.headers)
    ).json()
    (progress,) = mine["assignees"]
    assert (progress["status"], progress["attempts"], progress["best_score"]) == (
        "open",
        1,
        blocked["overall"],
    )
    assert progress["best_passing_score"] is None

    good = await practise(
        client, tenant.user, created["id"], trainee_lines("t01_exemplary_vsc_en.json")
    )
    assert good["blockers_failed"] == []
    read = await client.get(f"/v1/assignments/{created['id']}", headers=tenant.admin.headers)
    (progress,) = read.json()["assignees"]
    assert progress["status"] == "done"
    assert progress["attempts"] == 2
    assert progress["best_score"] == max(blocked["overall"], good["overall"])
    assert progress["best_passing_score"] == good["overall"]
    assert progress["completed_at"] is not None

    await wait_for(hooks, "assignment.completed", 1)
    await asyncio.sleep(3)  # a second announcement would come within the worker's ticks
    (event,) = events(hooks, "assignment.completed")
    assert event["data"]["assignment_id"] == created["id"]
    assert event["data"]["user_id"] == tenant.user.id
    assert event["data"]["attempts"] == "2"


async def test_an_overdue_assignee_is_reminded_once_by_two_workers(
    client: httpx.AsyncClient,
    tenant: Tenant,
    super_admin: Account,
    worker: ServiceProcess,
    worker_env: dict[str, str],
    hooks: Receiver,
    tmp_path: Path,
    pg_pool: asyncpg.Pool,
) -> None:
    trainees = [tenant.user]
    for _ in range(4):
        email = f"trainee-{uuid.uuid4().hex[:8]}@example.com"
        made = await client.post(
            "/v1/users",
            json={
                "email": email,
                "password": PASSWORD,
                "role": "user",
                "dealership_id": tenant.dealership_id,
            },
            headers=super_admin.headers,
        )
        assert made.status_code == 201, made.text
        trainees.append(await sign_in(client, email, tenant.dealership_id))
    await subscribe(client, tenant, hooks)
    second = ServiceProcess(
        ["worker", "--processes", "1", "--threads", "2"], worker_env, tmp_path / "second.log"
    ).start()
    try:
        deadline = time.monotonic() + 60
        while "worker_started" not in second.output():
            assert second.running(), second.output()
            assert time.monotonic() < deadline, "the second worker never started"
            await asyncio.sleep(0.3)
        created = await assign(client, tenant.admin, everyone=True, min_score=50)
        assert {a["user_id"] for a in created["assignees"]} == {
            tenant.admin.id,
            *(t.id for t in trainees),
        }
        # Due in the past without waiting for it: the row is moved back.
        await pg_pool.execute(
            "UPDATE assignments SET due_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(created["id"]),
        )
        await wait_for(hooks, "assignment.overdue", len(created["assignees"]))
        await asyncio.sleep(4)  # both workers tick every second meanwhile
    finally:
        second.stop()
    reminded = [e["data"] for e in events(hooks, "assignment.overdue")]
    assert sorted(d["user_id"] for d in reminded) == sorted(
        a["user_id"] for a in created["assignees"]
    )
    assert {d["assignment_id"] for d in reminded} == {created["id"]}
    mine = await client.get(f"/v1/assignments/{created['id']}", headers=trainees[1].headers)
    assert [a["status"] for a in mine.json()["assignees"]] == ["overdue"]


async def test_nobody_reads_or_writes_what_is_not_theirs(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await assign(client, tenant.admin, assignee_ids=[tenant.admin.id], min_score=70)
    path = f"/v1/assignments/{created['id']}"
    refused = await client.post(
        "/v1/assignments",
        json={
            "scenario_id": "gap_negative_equity",
            "assignee_ids": [tenant.user.id],
            "due_at": due_in(timedelta(days=1)),
            "min_score": 70,
        },
        headers=tenant.user.headers,
    )
    assert refused.status_code == 403, refused.text
    foreign = await client.post(
        "/v1/assignments",
        json={
            "scenario_id": "gap_negative_equity",
            "assignee_ids": [tenant.user.id, other_tenant.user.id],
            "due_at": due_in(timedelta(days=1)),
            "min_score": 70,
        },
        headers=tenant.admin.headers,
    )
    assert foreign.status_code == 422, foreign.text
    assert other_tenant.user.id in str(problem(foreign)["detail"])
    past = await client.post(
        "/v1/assignments",
        json={
            "scenario_id": "gap_negative_equity",
            "everyone": True,
            "due_at": due_in(-timedelta(minutes=1)),
            "min_score": 70,
        },
        headers=tenant.admin.headers,
    )
    assert past.status_code == 422, past.text
    assert (await client.get(path, headers=tenant.user.headers)).status_code == 404
    assert (await client.get(path, headers=other_tenant.admin.headers)).status_code == 404
    listed = await client.get("/v1/assignments", headers=tenant.user.headers)
    assert listed.json() == {"items": [], "next_cursor": None}
    others = await client.get("/v1/assignments", headers=other_tenant.admin.headers)
    assert created["id"] not in {a["id"] for a in others.json()["items"]}
    for method in ("PATCH", "DELETE"):
        body = {"min_score": 10} if method == "PATCH" else None
        as_user = await client.request(method, path, headers=tenant.user.headers, json=body)
        assert as_user.status_code == 403, as_user.text
        as_other = await client.request(method, path, headers=other_tenant.admin.headers, json=body)
        assert as_other.status_code == 404, as_other.text
    started = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "assignment_id": created["id"]},
        headers=tenant.user.headers,
    )
    assert started.status_code == 404, started.text
    conflicting = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "assignment_id": created["id"], "scenario_id": "price_focused"},
        headers=tenant.admin.headers,
    )
    assert conflicting.status_code == 422, conflicting.text
    assert problem(conflicting)["code"] == "invalid_input"


async def test_admins_page_change_and_delete_assignments(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await assign(client, tenant.admin, everyone=True, min_score=60, note="VSC week")
    second = await assign(client, tenant.admin, assignee_ids=[tenant.user.id], min_score=80)
    page = await client.get("/v1/assignments?limit=1", headers=tenant.admin.headers)
    assert [a["id"] for a in page.json()["items"]] == [first["id"]]
    assert len(page.json()["items"][0]["assignees"]) == 2
    rest = await client.get(
        f"/v1/assignments?limit=1&cursor={page.json()['next_cursor']}",
        headers=tenant.admin.headers,
    )
    assert [a["id"] for a in rest.json()["items"]] == [second["id"]]
    own = await client.get(
        f"/v1/assignments?user_id={tenant.admin.id}", headers=tenant.admin.headers
    )
    assert [a["id"] for a in own.json()["items"]] == [first["id"]]
    trainee = await client.get("/v1/assignments", headers=tenant.user.headers)
    assert [a["id"] for a in trainee.json()["items"]] == [first["id"], second["id"]]
    assert all(len(a["assignees"]) == 1 for a in trainee.json()["items"])

    changed = await client.patch(
        f"/v1/assignments/{first['id']}",
        json={"min_attempts": 3, "note": "", "due_at": due_in(timedelta(days=14))},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["min_attempts"], changed.json()["note"]) == (3, None)
    assert changed.json()["min_score"] == 60
    gone = await client.delete(f"/v1/assignments/{first['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 204, gone.text
    again = await client.get(f"/v1/assignments/{first['id']}", headers=tenant.admin.headers)
    assert again.status_code == 404
