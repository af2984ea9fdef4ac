"""Scenarios through the real app on PostgreSQL: the built-in library with the
dealership's own, admins writing their own, built-ins read-only, another dealership's
scenarios answering 404, and roleplays started by `scenario_id` (or the older
`scenario` key) playing the scenario's customer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from avataradam.domain.training.scenarios import BUILT_IN
from tests.integration.conftest import Account, Tenant, problem


def scenario_body(slug: str, **changes: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": "First-time buyer, thin credit file",
        "product": "gap",
        "difficulty": 2,
        "persona": {
            "name": "Lee",
            "description": "a first-time buyer with a tight budget and a thin credit file",
            "traits": ["nervous", "asks many questions"],
            "concerns": "GAP first car budget objection",
            "opening_lines": ["Quick question before we start: is any of this required?"],
            "script": ["What happens if I say no to all of it?"],
            "translations": {
                "es": {
                    "opening_lines": ["Antes de empezar: ¿algo de esto es obligatorio?"],
                    "script": ["¿Qué pasa si digo que no a todo?"],
                }
            },
        },
        "objectives": ["Say that GAP is optional.", "Ask about the monthly budget."],
    } | changes


async def create(client: httpx.AsyncClient, admin: Account, slug: str, **changes: Any) -> Any:
    response = await client.post(
        "/v1/scenarios", json=scenario_body(slug, **changes), headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def all_items(client: httpx.AsyncClient, account: Account, query: str = "") -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = await client.get(
            f"/v1/scenarios?limit=5{query}" + (f"&cursor={cursor}" if cursor else ""),
            headers=account.headers,
        )
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_the_library_and_own_scenarios_are_listed_together_page_by_page(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    own = await create(client, tenant.admin, "lee_first_car")
    await create(client, other_tenant.admin, "someone_elses")

    items = await all_items(client, tenant.user)

    assert [s["id"] for s in items] == [*BUILT_IN, own["id"]]
    assert len(BUILT_IN) >= 12
    built_in = items[0]
    assert built_in == {
        "id": "price_focused",
        "slug": "price_focused",
        "title": built_in["title"],
        "product": "vsc",
        "difficulty": 2,
        "persona": built_in["persona"],
        "objectives": built_in["objectives"],
        "rubric_id": "fi-office",
        "built_in": True,
    }
    assert built_in["persona"]["languages"] == ["en", "es"]
    assert built_in["persona"]["translations"]["es"]["opening_lines"]
    assert own["built_in"] is False
    assert uuid.UUID(own["id"])
    assert own["persona"]["languages"] == ["en", "es"]
    gap_hard = await all_items(client, tenant.user, "&product=gap&difficulty=2")
    assert own["id"] in {s["id"] for s in gap_hard}
    assert {(s["product"], s["difficulty"]) for s in gap_hard} == {("gap", 2)}
    products = {s["product"] for s in items if s["built_in"]}
    assert products >= {
        "vsc",
        "gap",
        "tire_wheel",
        "appearance_protection",
        "prepaid_maintenance",
        "key_replacement",
        "theft_protection",
    }


async def test_an_admin_writes_own_scenarios_and_a_user_reads_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    own = await create(client, tenant.admin, "spouse_at_home")
    path = f"/v1/scenarios/{own['id']}"

    read = await client.get(path, headers=tenant.user.headers)
    assert read.status_code == 200
    assert read.json() == own
    patched = await client.patch(
        path,
        json={"title": "Spouse at home", "difficulty": 3, "objectives": ["Offer a call."]},
        headers=tenant.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == own | {
        "title": "Spouse at home",
        "difficulty": 3,
        "objectives": ["Offer a call."],
    }
    taken = await client.post(
        "/v1/scenarios", json=scenario_body("spouse_at_home"), headers=tenant.admin.headers
    )
    assert taken.status_code == 409
    assert problem(taken)["code"] == "scenario_slug_taken"
    built_in_slug = await client.post(
        "/v1/scenarios", json=scenario_body("skeptical"), headers=tenant.admin.headers
    )
    assert problem(built_in_slug)["code"] == "scenario_slug_taken"
    refused = await client.post(
        "/v1/scenarios", json=scenario_body("by_a_user"), headers=tenant.user.headers
    )
    assert refused.status_code == 403
    assert problem(refused)["code"] == "permission_denied"

    deleted = await client.delete(path, headers=tenant.admin.headers)
    assert deleted.status_code == 204
    assert (await client.get(path, headers=tenant.user.headers)).status_code == 404
    assert (await client.delete(path, headers=tenant.admin.headers)).status_code == 404
    assert own["id"] not in {s["id"] for s in await all_items(client, tenant.user)}
    await create(client, tenant.admin, "spouse_at_home")  # the slug is free again


async def test_invalid_scenarios_are_refused_as_problems(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.admin.headers
    blank_name = scenario_body("blank_name")
    blank_name["persona"] = blank_name["persona"] | {"name": "   "}
    cases = {
        "rubric_id": (scenario_body("bad_rubric", rubric_id="no-such-rubric"), 422),
        "persona.name": (blank_name, 422),
        "objectives": (scenario_body("blank_objective", objectives=["  "]), 422),
        "difficulty": (scenario_body("too_hard", difficulty=4), 400),
        "slug": (scenario_body("Not A Slug"), 400),
    }
    for field, (body, status) in cases.items():
        response = await client.post("/v1/scenarios", json=body, headers=headers)
        assert response.status_code == status, (field, response.text)
        errors = problem(response)["errors"]
        assert isinstance(errors, list)
        assert any(field in str(e.get("field")) for e in errors), (field, errors)


async def test_built_ins_are_read_only_even_for_admins(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.admin.headers
    patched = await client.patch(
        "/v1/scenarios/skeptical", json={"title": "Mine now"}, headers=headers
    )
    deleted = await client.delete("/v1/scenarios/skeptical", headers=headers)

    for response in (patched, deleted):
        assert response.status_code == 403
        body = problem(response)
        assert body["code"] == "scenario_read_only"
        assert body["details"] == {"scenario_id": "skeptical"}
    read = await client.get("/v1/scenarios/skeptical", headers=tenant.user.headers)
    assert read.json()["title"] == BUILT_IN["skeptical"].title


async def test_another_dealerships_scenario_answers_like_a_missing_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create(client, other_tenant.admin, "their_secret_playbook")
    path = f"/v1/scenarios/{theirs['id']}"
    missing = f"/v1/scenarios/{uuid.uuid4()}"

    for method, body in (("GET", None), ("PATCH", {"title": "Taken over"}), ("DELETE", None)):
        foreign = await client.request(method, path, json=body, headers=tenant.admin.headers)
        absent = await client.request(method, missing, json=body, headers=tenant.admin.headers)
        assert foreign.status_code == absent.status_code == 404, method
        assert problem(foreign)["code"] == problem(absent)["code"] == "not_found"
    started = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "scenario_id": theirs["id"]},
        headers=tenant.user.headers,
    )
    assert started.status_code == 404
    assert problem(started)["code"] == "not_found"
    still = await client.get(path, headers=other_tenant.user.headers)
    assert still.json()["title"] == theirs["title"]


async def first_reply(client: httpx.AsyncClient, user: Account, body: dict[str, Any]) -> Any:
    started = await client.post("/v1/conversations", json=body, headers=user.headers)
    assert started.status_code == 201, started.text
    conversation = started.json()
    reply = await client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "Welcome! Let's go over your protection options."},
        headers=user.headers,
    )
    assert reply.status_code == 201, reply.text
    return conversation, reply.json()


async def test_a_roleplay_of_an_own_scenario_plays_its_customer_even_after_deletion(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    own = await create(client, tenant.admin, "lee_roleplay")
    conversation, reply = await first_reply(
        client, tenant.user, {"mode": "roleplay", "scenario_id": own["id"]}
    )

    assert conversation["scenario_id"] == own["id"]
    assert conversation["scenario"] == "lee_roleplay"
    # The extractive model (no generative one configured) opens with the persona's line.
    assert reply["content"] == own["persona"]["opening_lines"][0]
    spanish, reply_es = await first_reply(
        client, tenant.user, {"mode": "roleplay", "scenario_id": own["id"], "language": "es"}
    )
    assert reply_es["content"] == own["persona"]["translations"]["es"]["opening_lines"][0]

    await client.delete(f"/v1/scenarios/{own['id']}", headers=tenant.admin.headers)
    after = await client.post(
        f"/v1/conversations/{spanish['id']}/messages",
        json={"content": "¿Le explico las opciones?"},
        headers=tenant.user.headers,
    )
    assert after.status_code == 201, after.text
    assert after.json()["content"]
    read = await client.get(f"/v1/conversations/{spanish['id']}", headers=tenant.user.headers)
    assert read.json()["scenario_id"] == own["id"]
    gone = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "scenario_id": own["id"]},
        headers=tenant.user.headers,
    )
    assert gone.status_code == 404


async def test_built_ins_start_by_scenario_id_and_by_the_older_scenario_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    by_id, reply = await first_reply(
        client, tenant.user, {"mode": "roleplay", "scenario_id": "gap_negative_equity"}
    )
    assert by_id["scenario_id"] == by_id["scenario"] == "gap_negative_equity"
    assert reply["content"] == BUILT_IN["gap_negative_equity"].persona.opening_lines[0]

    by_key, reply = await first_reply(
        client, tenant.user, {"mode": "roleplay", "scenario": "payment_focused"}
    )
    assert by_key["scenario_id"] == by_key["scenario"] == "payment_focused"
    assert reply["content"] == BUILT_IN["payment_focused"].persona.opening_lines[0]
    legacy = await client.get("/v1/conversations/scenarios", headers=tenant.user.headers)
    assert [s["scenario"] for s in legacy.json()] == list(BUILT_IN)


async def test_scenario_id_is_refused_where_it_makes_no_sense(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cases = [
        ({"mode": "training", "scenario_id": "skeptical"}, 422, "invalid_input"),
        (
            {"mode": "roleplay", "scenario_id": "skeptical", "scenario": "skeptical"},
            422,
            "invalid_input",
        ),
        ({"mode": "roleplay", "scenario_id": "no_such_scenario"}, 404, "not_found"),
        ({"mode": "roleplay", "scenario_id": str(uuid.uuid4())}, 404, "not_found"),
        ({"mode": "roleplay", "scenario": "no_such_persona"}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/conversations", json=body, headers=tenant.user.headers)
        assert response.status_code == status, (body, response.text)
        assert problem(response)["code"] == code


async def test_a_repeated_creation_with_its_idempotency_key_replays_the_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.admin.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = scenario_body("replayed_once")

    first = await client.post("/v1/scenarios", json=body, headers=headers)
    again = await client.post("/v1/scenarios", json=body, headers=headers)
    other = await client.post("/v1/scenarios", json=scenario_body("another_body"), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert problem(other)["code"] == "idempotency_key_reused"
    slugs = [s["slug"] for s in await all_items(client, tenant.user)]
    assert slugs.count("replayed_once") == 1


async def test_a_super_admin_names_the_dealership_of_own_scenarios(
    client: httpx.AsyncClient, super_admin: Account, tenant: Tenant
) -> None:
    root = super_admin.headers
    created = await client.post(
        "/v1/scenarios",
        json=scenario_body("made_by_root", dealership_id=tenant.dealership_id),
        headers=root,
    )
    assert created.status_code == 201, created.text
    library = await client.get("/v1/scenarios?limit=200", headers=root)
    assert [s["id"] for s in library.json()["items"]] == list(BUILT_IN)
    theirs = await client.get(
        f"/v1/scenarios?limit=200&dealership_id={tenant.dealership_id}", headers=root
    )
    assert created.json()["id"] in {s["id"] for s in theirs.json()["items"]}
    path = f"/v1/scenarios/{created.json()['id']}"
    # By id, like a document or a webhook: no dealership_id needed.
    assert (await client.get(path, headers=root)).json() == created.json()
    elsewhere = f"{path}?dealership_id={uuid.uuid4()}"
    assert (await client.get(elsewhere, headers=root)).status_code == 404
    patched = await client.patch(path, json={"title": "Set by root"}, headers=root)
    assert patched.json()["title"] == "Set by root"
    assert (await client.get(path, headers=tenant.user.headers)).json() == patched.json()
    assert (await client.delete(path, headers=root)).status_code == 204
    assert (await client.get(path, headers=tenant.user.headers)).status_code == 404
