"""Objects of another dealership answer exactly like objects that do not exist.

The routes come from the app's own route table, so an endpoint added later with an
`*_id` path parameter is checked without anyone remembering to: it needs an object in
`Holdings.ids` (the test fails otherwise) and, if it takes a body, one in `BODIES`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest

from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from tests.integration.conftest import Account, Tenant, problem
from tests.integration.security.conftest import Holdings
from tests.support.processes import ServiceProcess

IGNORED_METHODS = {"OPTIONS", "HEAD"}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("PATCH", "/v1/dealerships/{dealership_id:uuid}"): {"name": "Taken over"},
    ("PATCH", "/v1/users/{user_id:uuid}"): {"first_name": "Mallory"},
    ("POST", "/v1/conversations/{conversation_id:uuid}/messages"): {"content": "leak it"},
    ("POST", "/v1/messages/{message_id:uuid}/feedback"): {"rating": "down"},
    ("POST", "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings"): {},
    ("PATCH", "/v1/scenarios/{scenario_id:str}"): {"title": "Taken over"},
    ("PATCH", "/v1/assignments/{assignment_id:uuid}"): {"note": "Taken over"},
    ("POST", "/v1/analytics/knowledge-gaps/{gap_id:uuid}/resolve"): {"note": "Taken over"},
}
OWNER_READS = {
    "dealership_id": None,  # super-admin-only: the owner's admin cannot read it either
    "user_id": "/v1/users/{}",
    "document_id": "/v1/documents/{}",
    "webhook_id": "/v1/webhooks/{}",
    "conversation_id": "/v1/conversations/{}",
    "scenario_id": "/v1/scenarios/{}",
    "assignment_id": "/v1/assignments/{}",
    "message_id": None,  # read through its conversation
    "gap_id": None,  # read through the list (test_nothing_of_the_victim_changed)
}


@dataclass(frozen=True)
class IdRoute:
    method: str
    template: str
    id_params: tuple[str, ...]

    def path(self, ids: dict[str, str]) -> str:
        path = self.template.replace("{generation:int}", "1").replace("{index:int}", "0")
        for name in self.id_params:
            path = path.replace(f"{{{name}:uuid}}", ids[name]).replace(f"{{{name}:str}}", ids[name])
        return path


@pytest.fixture(scope="module")
def id_routes(container: Container) -> list[IdRoute]:
    routes: list[IdRoute] = []
    for route in create_app(container).routes:
        params = tuple(name for name in route.path_parameters if name.endswith("_id"))
        methods = sorted(getattr(route, "methods", set()) - IGNORED_METHODS) if params else []
        routes.extend(IdRoute(method, route.path, params) for method in methods)
    return routes


def test_every_id_parameter_names_an_object_the_victim_holds(
    id_routes: list[IdRoute],
) -> None:
    held = set(OWNER_READS)
    unmapped = sorted(
        f"{r.method} {r.template}: {name}"
        for r in id_routes
        for name in r.id_params
        if name not in held
    )
    assert not unmapped, f"add an object of this kind to the security fixtures: {unmapped}"
    assert len(id_routes) >= 14


async def _request(
    client: httpx.AsyncClient, route: IdRoute, ids: dict[str, str], account: Account
) -> httpx.Response:
    return await client.request(
        route.method,
        route.path(ids),
        json=BODIES.get((route.method, route.template)),
        headers=account.headers,
    )


async def test_another_dealerships_objects_answer_like_missing_ones_on_every_id_route(
    client: httpx.AsyncClient, id_routes: list[IdRoute], victim: Holdings, attacker: Tenant
) -> None:
    missing = {name: str(uuid.uuid4()) for name in victim.ids}
    leaks = []
    for route in id_routes:
        for account in (attacker.admin, attacker.user):
            foreign = await _request(client, route, victim.ids, account)
            absent = await _request(client, route, missing, account)
            body = problem(foreign)
            # A role check refuses before any lookup, for every id alike: dealership
            # routes for everyone but super admins, admin routes for plain users.
            may_be_role_gated = account is attacker.user or route.id_params == ("dealership_id",)
            expected = {403, 404} if may_be_role_gated else {404}
            if foreign.status_code not in expected or (foreign.status_code, body["code"]) != (
                absent.status_code,
                problem(absent)["code"],
            ):
                leaks.append(
                    f"{account.email.split('-')[0]} {route.method} {route.template}: "
                    f"{foreign.status_code} {body['code']} vs missing {absent.status_code}"
                )
    assert not leaks, "\n".join(leaks)


async def _ready(client: httpx.AsyncClient, account: Account, document_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document = await client.get(f"/v1/documents/{document_id}", headers=account.headers)
        if document.json()["status"] in {"ready", "failed"}:
            assert document.json()["status"] == "ready", document.text
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"document {document_id} never became ready")


async def test_a_passage_of_another_dealership_answers_like_a_missing_one(
    client: httpx.AsyncClient,
    victim: Holdings,
    attacker: Tenant,
    super_admin: Account,
    worker: ServiceProcess,
) -> None:
    """The sweep above may meet the victim's document before it is ready (404 for the
    owner too): here it is ready, so its passage 0 exists and is the owner's to read."""
    document_id = victim.ids["document_id"]
    await _ready(client, victim.tenant.admin, document_id)
    path = f"/v1/documents/{document_id}/passages/0"
    for account in (victim.tenant.user, super_admin):
        own = await client.get(path, headers=account.headers)
        assert own.status_code == 200, own.text
        assert "Our confidential GAP pricing playbook." in own.json()["text"]
    leaks = []
    for account in (attacker.admin, attacker.user):
        foreign = await client.get(path, headers=account.headers)
        absent = await client.get(
            f"/v1/documents/{uuid.uuid4()}/passages/0", headers=account.headers
        )
        said = [
            (r.status_code, problem(r)["code"], problem(r)["detail"]) for r in (foreign, absent)
        ]
        if said[0] != said[1] or said[0][0] != 404 or "confidential" in foreign.text:
            leaks.append(f"{account.email}: {foreign.status_code} {foreign.text[:160]}")
    assert not leaks, "\n".join(leaks)


async def test_a_scorecard_of_another_dealership_answers_like_a_missing_one(
    client: httpx.AsyncClient, victim: Holdings, attacker: Tenant
) -> None:
    """The holdings' conversation is a training one (no scorecard): here the victim's
    trainee completes a roleplay, so there is a scorecard to leak."""
    trainee = victim.tenant.user.headers
    started = await client.post("/v1/conversations", json={"mode": "roleplay"}, headers=trainee)
    conversation_id = started.json()["id"]
    completed = await client.post(f"/v1/conversations/{conversation_id}/complete", headers=trainee)
    assert completed.status_code == 202, completed.text
    routes = [
        ("GET", "/v1/conversations/{}/scorecard"),
        ("POST", "/v1/conversations/{}/complete"),
        ("POST", "/v1/conversations/{}/scorecard/rescore"),
    ]
    leaks = []
    for account in (attacker.admin, attacker.user):
        for method, template in routes:
            foreign = await client.request(
                method, template.format(conversation_id), headers=account.headers
            )
            absent = await client.request(
                method, template.format(uuid.uuid4()), headers=account.headers
            )
            if foreign.status_code not in {403, 404} or (
                foreign.status_code,
                problem(foreign)["code"],
            ) != (absent.status_code, problem(absent)["code"]):
                leaks.append(f"{method} {template}: {foreign.status_code} {foreign.text[:120]}")
    assert not leaks, "\n".join(leaks)
    for headers in (trainee, victim.tenant.admin.headers):
        own = await client.get(f"/v1/conversations/{conversation_id}/scorecard", headers=headers)
        assert own.status_code == 200, own.text
        assert own.json()["conversation_id"] == conversation_id


async def test_another_dealerships_rubric_answers_like_a_missing_one(
    client: httpx.AsyncClient, victim: Holdings, attacker: Tenant
) -> None:
    """Own rubrics are named by `rubric`, no `*_id`: checked here, read and publish,
    and the victim's rubric id stays free for the attacker's own dealership."""
    rubric = victim.ids["rubric"]
    version = {
        "title": "Taken over",
        "criteria": [
            {
                "id": "taken",
                "title": "Taken",
                "weight": 1,
                "checks": [{"uses": "fi-office/asked_budget"}],
            }
        ],
    }
    requests = [
        ("GET", "/v1/rubrics/{}", None),
        ("GET", "/v1/rubrics/{}?version=1", None),
        ("POST", "/v1/rubrics/{}/versions", version),
    ]
    leaks = []
    for account in (attacker.admin, attacker.user):
        for method, template, body in requests:
            foreign, absent = [
                await client.request(
                    method, template.format(name), json=body, headers=account.headers
                )
                for name in (rubric, "no-such-rubric")
            ]
            if (foreign.status_code, problem(foreign)["code"]) != (
                absent.status_code,
                problem(absent)["code"],
            ) or foreign.status_code not in {403, 404}:
                leaks.append(f"{method} {template}: {foreign.status_code} {foreign.text[:120]}")
        listed = await client.get("/v1/rubrics", headers=account.headers)
        if rubric in {r["id"] for r in listed.json()["items"]}:
            leaks.append(f"GET /v1/rubrics lists {rubric} to {account.email}")
    assert not leaks, "\n".join(leaks)
    same_id = await client.post(
        "/v1/rubrics", json={"id": rubric, **version}, headers=attacker.admin.headers
    )
    assert same_id.status_code == 201, same_id.text
    owners = await client.get(f"/v1/rubrics/{rubric}", headers=victim.tenant.user.headers)
    assert owners.status_code == 200, owners.text
    assert (owners.json()["versions"], owners.json()["title"]) == ([1], "Our confidential rubric")


async def test_another_dealerships_analytics_answer_like_a_missing_dealerships(
    client: httpx.AsyncClient, victim: Holdings, attacker: Tenant
) -> None:
    """The analytics routes name a dealership in the query, not the path."""
    leaks = []
    for path in ("/v1/analytics/overview", "/v1/analytics/leaderboard"):
        for account in (attacker.admin, attacker.user):
            foreign, absent = [
                await client.get(f"{path}?dealership_id={d}", headers=account.headers)
                for d in (victim.ids["dealership_id"], uuid.uuid4())
            ]
            if foreign.status_code not in {403, 404} or (
                foreign.status_code,
                problem(foreign)["code"],
            ) != (absent.status_code, problem(absent)["code"]):
                leaks.append(f"{path}: {foreign.status_code} {foreign.text[:120]}")
    assert not leaks, "\n".join(leaks)


async def test_the_victims_objects_exist_for_their_owner(
    client: httpx.AsyncClient, victim: Holdings, super_admin: Account
) -> None:
    """Without this, 404 everywhere could mean the fixtures made nothing."""
    owner = victim.tenant.admin
    for name, template in OWNER_READS.items():
        if template is None:
            continue
        headers = victim.tenant.user.headers if name == "conversation_id" else owner.headers
        response = await client.get(template.format(victim.ids[name]), headers=headers)
        assert response.status_code == 200, (name, response.text)
    dealership = await client.get(
        f"/v1/dealerships/{victim.ids['dealership_id']}", headers=super_admin.headers
    )
    assert dealership.status_code == 200
    conversation = await client.get(
        f"/v1/conversations/{victim.ids['conversation_id']}", headers=victim.tenant.user.headers
    )
    assert victim.ids["message_id"] in {m["id"] for m in conversation.json()["messages"]}


async def test_nothing_of_the_victim_changed(
    client: httpx.AsyncClient, victim: Holdings, super_admin: Account
) -> None:
    """Runs after the attack: no update, deletion or feedback went through."""
    owner = victim.tenant.admin.headers
    user = await client.get(f"/v1/users/{victim.ids['user_id']}", headers=owner)
    assert user.json()["first_name"] != "Mallory"
    assert user.json()["active"] is True
    document = await client.get(f"/v1/documents/{victim.ids['document_id']}", headers=owner)
    assert document.json()["status"] != "deleting"
    webhook = await client.get(f"/v1/webhooks/{victim.ids['webhook_id']}", headers=owner)
    assert webhook.status_code == 200
    scenario = await client.get(f"/v1/scenarios/{victim.ids['scenario_id']}", headers=owner)
    assert scenario.status_code == 200
    assert scenario.json()["title"] != "Taken over"
    assignment = await client.get(f"/v1/assignments/{victim.ids['assignment_id']}", headers=owner)
    assert assignment.status_code == 200
    assert assignment.json()["note"] != "Taken over"
    feedback = await client.get("/v1/feedback", headers=owner)
    assert feedback.json()["items"] == []
    gaps = await client.get("/v1/analytics/knowledge-gaps", headers=owner)
    [gap] = gaps.json()["items"]
    assert (gap["id"], gap["status"]) == (victim.ids["gap_id"], "open")
    dealership = await client.get(
        f"/v1/dealerships/{victim.ids['dealership_id']}", headers=super_admin.headers
    )
    assert dealership.json()["active"] is True
    assert dealership.json()["name"] != "Taken over"
