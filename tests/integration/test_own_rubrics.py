"""A dealership's own, versioned rubrics through the real app on PostgreSQL and a real
worker process: an admin writes a rubric and publishes versions; sessions of a scenario
that names it are scored with the version current when they were completed, and keep
it (a rescore too, unless asked for the latest); another dealership cannot see it; a
trainee cannot write one; a broken draft is a 422 and stores nothing.

The deployment's embedder (hashing) has no measured similarity threshold, so the
`rules` scorer runs on phrase patterns: the referenced built-in checks decide, and the
exemplars-only check is missed, which is what these tests rely on (never on a number
written here: the expected `overall` is computed from each version's weights)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Account, Tenant, problem
from tests.integration.test_scenarios_api import scenario_body
from tests.support.processes import ServiceProcess

TRANSCRIPT = Path(__file__).parents[1] / "data" / "transcripts" / "t01_exemplary_vsc_en.json"
TRAINEE_LINES = [
    m["text"] for m in json.loads(TRANSCRIPT.read_text())["messages"] if m["role"] == "user"
][:4]
TEST_DRIVE = {
    "id": "offered_test_drive",
    "description": "Did the trainee offer a test drive of a protected vehicle?",
    "exemplars": ["Would you like to take it for a test drive?", "¿Quiere probarlo?"],
    "question": True,
    "advice": "Offer the test drive.",
}
V1: dict[str, Any] = {
    "title": "Our F&I office",
    "description": "Discovery first, then a clear close; never pack a payment.",
    "criteria": [
        {
            "id": "discovery",
            "title": "Discovery",
            "weight": 3,
            "checks": [{"uses": "fi-office/asked_mileage"}, {"uses": "fi-office/asked_budget"}],
        },
        {
            "id": "closing",
            "title": "Closing",
            "weight": 1,
            "advice": "Ask for the decision.",
            "checks": [{"uses": "fi-office/clear_ask"}, TEST_DRIVE],
        },
        {
            "id": "compliance",
            "title": "No payment packing",
            "weight": 0,
            "blocker": True,
            "checks": [{"uses": "fi-office/no_packed_payment", "description": "No packing?"}],
        },
    ],
}
V2: dict[str, Any] = {
    "title": "Our F&I office, menu first",
    "criteria": [
        {
            "id": "menu",
            "title": "Menu",
            "weight": 1,
            "checks": [
                {"uses": "fi-office/presented_menu"},
                {"uses": "fi-office/stated_optional", "id": "said_optional"},
            ],
        },
        {
            "id": "close",
            "title": "Close",
            "weight": 3,
            "checks": [{"uses": "fi-office/clear_ask"}, TEST_DRIVE],
        },
    ],
}


async def _post_rubric(
    client: httpx.AsyncClient, admin: Account, rubric_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/rubrics", json={"id": rubric_id, **body}, headers=admin.headers)


async def _rubric(client: httpx.AsyncClient, account: Account, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _completed_session(client: httpx.AsyncClient, trainee: Account, scenario_id: str) -> str:
    started = await client.post(
        "/v1/conversations",
        json={"mode": "roleplay", "scenario_id": scenario_id},
        headers=trainee.headers,
    )
    assert started.status_code == 201, started.text
    conversation_id = str(started.json()["id"])
    for line in TRAINEE_LINES:
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
    return conversation_id


async def _scored(
    client: httpx.AsyncClient, account: Account, conversation_id: str, timeout_s: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = await client.get(
            f"/v1/conversations/{conversation_id}/scorecard", headers=account.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "pending":
            assert body["status"] == "scored", body
            return body
        assert time.monotonic() < deadline, f"still pending after {timeout_s} s: {body}"
        await asyncio.sleep(0.2)


def _expected_overall(scorecard: dict[str, Any], rubric: dict[str, Any]) -> int:
    """`overall` as docs/rubrics.md defines it, from the version's own weights."""
    weights = {c["id"]: c["weight"] for c in rubric["criteria"]}
    counted = [
        (weights[c["id"]], c["score"])
        for c in scorecard["criteria"]
        if c["verdict"] != "not_applicable" and weights[c["id"]] > 0
    ]
    total = sum(w for w, _ in counted)
    return int(sum(w * s for w, s in counted) / total + 0.5) if total else 0


def _field(response: httpx.Response) -> str:
    """The field a 422 names (`errors[0].field` of the problem)."""
    problem(response)  # a problem+json answer
    return str(response.json()["errors"][0]["field"])


def _judged(scorecard: dict[str, Any]) -> dict[str, Any]:
    """What a scoring decided (not when)."""
    return {k: scorecard[k] for k in ("overall", "passed", "blockers_failed", "criteria", "rubric")}


async def test_sessions_keep_the_rubric_version_they_were_scored_with(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, worker: ServiceProcess
) -> None:
    del worker  # scores the sessions
    admin, trainee = tenant.admin, tenant.user
    created = await _post_rubric(client, admin, "our-office", V1)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/rubrics/our-office?version=1"
    v1 = created.json()
    assert (v1["version"], v1["versions"], v1["built_in"]) == (1, [1], False)
    assert v1["draft"]["criteria"][1]["checks"][1]["exemplars"] == TEST_DRIVE["exemplars"]
    assert v1["criteria"][2]["checks"][0] == {
        "id": "no_packed_payment",
        "description": "No packing?",
        "needs_evidence": True,
    }
    scenario = await client.post(
        "/v1/scenarios",
        json=scenario_body("own_rubric_drill", rubric_id="our-office"),
        headers=admin.headers,
    )
    assert scenario.status_code == 201, scenario.text
    scenario_id = str(scenario.json()["id"])

    first_id = await _completed_session(client, trainee, scenario_id)
    first = await _scored(client, trainee, first_id)
    assert first["rubric"] == {"id": "our-office", "version": 1}
    assert [c["id"] for c in first["criteria"]] == ["discovery", "closing", "compliance"]
    assert first["overall"] == _expected_overall(first, v1)
    closing = next(c for c in first["criteria"] if c["id"] == "closing")
    test_drive = next(k for k in closing["checks"] if k["id"] == "offered_test_drive")
    assert test_drive["passed"] is False  # exemplars only, and no similarity here

    published = await client.post("/v1/rubrics/our-office/versions", json=V2, headers=admin.headers)
    assert published.status_code == 201, published.text
    assert published.headers["location"] == "/v1/rubrics/our-office?version=2"
    v2 = published.json()
    assert (v2["version"], v2["versions"], v2["title"]) == (2, [1, 2], V2["title"])
    assert await _rubric(client, trainee, "/v1/rubrics/our-office?version=1") == v1 | {
        "versions": [1, 2]
    }

    unchanged = await _scored(client, trainee, first_id)
    assert unchanged == first

    frozen = await client.post(
        f"/v1/conversations/{first_id}/scorecard/rescore", headers=admin.headers
    )
    assert frozen.status_code == 202, frozen.text
    assert frozen.json()["rubric"] == {"id": "our-office", "version": 1}
    assert _judged(await _scored(client, trainee, first_id)) == _judged(first)

    latest = await client.post(
        f"/v1/conversations/{first_id}/scorecard/rescore?rubric=latest", headers=admin.headers
    )
    assert latest.status_code == 202, latest.text
    rescored = await _scored(client, trainee, first_id)
    assert rescored["rubric"] == {"id": "our-office", "version": 2}
    assert [c["id"] for c in rescored["criteria"]] == ["menu", "close"]
    assert rescored["overall"] == _expected_overall(rescored, v2)
    menu = next(c for c in rescored["criteria"] if c["id"] == "menu")
    assert [k["id"] for k in menu["checks"]] == ["presented_menu", "said_optional"]

    second = await _scored(client, trainee, await _completed_session(client, trainee, scenario_id))
    assert second["rubric"] == {"id": "our-office", "version": 2}
    assert second["overall"] == _expected_overall(second, v2)
    verdicts = [(c["id"], c["verdict"], c["score"]) for c in rescored["criteria"]]
    assert [(c["id"], c["verdict"], c["score"]) for c in second["criteria"]] == verdicts

    listed = await _rubric(client, trainee, "/v1/rubrics")
    [own] = [r for r in listed["items"] if r["id"] == "our-office"]
    assert (own["version"], own["versions"], own["built_in"]) == (2, [1, 2], False)
    assert any(r["built_in"] for r in listed["items"])
    other = await client.get("/v1/rubrics/our-office", headers=other_tenant.admin.headers)
    assert other.status_code == 404, other.text
    assert "our-office" not in {
        r["id"] for r in (await _rubric(client, other_tenant.user, "/v1/rubrics"))["items"]
    }
    foreign_scenario = await client.post(
        "/v1/scenarios",
        json=scenario_body("borrowed_rubric", rubric_id="our-office"),
        headers=other_tenant.admin.headers,
    )
    assert foreign_scenario.status_code == 422, foreign_scenario.text
    assert _field(foreign_scenario) == "rubric_id"


async def test_a_trainee_cannot_write_rubrics(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _post_rubric(client, tenant.user, "trainee-rubric", V1)
    assert created.status_code == 403, created.text
    assert problem(created)["code"] == "permission_denied"
    assert (await _post_rubric(client, tenant.admin, "team-rubric", V1)).status_code == 201
    published = await client.post(
        "/v1/rubrics/team-rubric/versions", json=V2, headers=tenant.user.headers
    )
    assert published.status_code == 403, published.text
    missing = await client.get("/v1/rubrics/trainee-rubric", headers=tenant.admin.headers)
    assert missing.status_code == 404
    versions = (await _rubric(client, tenant.admin, "/v1/rubrics/team-rubric"))["versions"]
    assert versions == [1]


def _with(criteria: list[dict[str, Any]]) -> dict[str, Any]:
    return V1 | {"criteria": criteria}


DISCOVERY = V1["criteria"][0]
BROKEN = {
    "no_criteria": (_with([]), 400, "invalid_request"),
    "a_regular_expression": (
        _with([DISCOVERY | {"checks": [{"id": "x", "description": "d", "patterns": [".*"]}]}]),
        400,
        "invalid_request",
    ),
    "unknown_built_in_check": (
        _with([DISCOVERY | {"checks": [{"uses": "fi-office/no_such_check"}]}]),
        422,
        "criteria[0].checks[0].uses",
    ),
    "unknown_built_in_rubric": (
        _with([DISCOVERY | {"checks": [{"uses": "nowhere/asked_budget"}]}]),
        422,
        "criteria[0].checks[0].uses",
    ),
    "exemplars_missing": (
        _with([DISCOVERY | {"checks": [{"id": "x", "description": "d"}]}]),
        422,
        "criteria[0].checks[0]",
    ),
    "uses_with_exemplars": (
        _with([DISCOVERY | {"checks": [{"uses": "fi-office/asked_budget", "exemplars": ["a"]}]}]),
        422,
        "criteria[0].checks[0]",
    ),
    "duplicate_criteria": (_with([DISCOVERY, DISCOVERY]), 422, "criteria"),
    "duplicate_checks": (
        _with([DISCOVERY | {"checks": [DISCOVERY["checks"][0]] * 2}]),
        422,
        "criteria.checks",
    ),
    "no_positive_weight": (
        _with([DISCOVERY | {"weight": 0}, V1["criteria"][2]]),
        422,
        "criteria.weight",
    ),
    "negative_weight": (_with([DISCOVERY | {"weight": -1}]), 400, "invalid_request"),
    "blank_title": (V1 | {"title": "   "}, 422, "title"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_a_broken_rubric_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, case: str
) -> None:
    body, status, where = BROKEN[case]
    rubric_id = f"broken-{case.replace('_', '-')}"
    created = await _post_rubric(client, tenant.admin, rubric_id, body)
    assert created.status_code == status, created.text
    code = problem(created)["code"]
    assert (code if status == 400 else _field(created)) == where, created.text
    assert (
        await client.get(f"/v1/rubrics/{rubric_id}", headers=tenant.admin.headers)
    ).status_code == 404
    assert (await _post_rubric(client, tenant.admin, "broken-base", V1)).status_code in {201, 409}
    published = await client.post(
        "/v1/rubrics/broken-base/versions", json=body, headers=tenant.admin.headers
    )
    assert published.status_code == status, published.text
    assert (await _rubric(client, tenant.admin, "/v1/rubrics/broken-base"))["versions"] == [1]


async def test_built_in_rubrics_are_read_only_and_ids_unique(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    admin = tenant.admin
    built_in = await client.post("/v1/rubrics/fi-office/versions", json=V1, headers=admin.headers)
    assert built_in.status_code == 403, built_in.text
    assert (problem(built_in)["code"], built_in.json()["details"]["rubric_id"]) == (
        "rubric_read_only",
        "fi-office",
    )
    taken = await _post_rubric(client, admin, "fi-office", V1)
    assert (taken.status_code, problem(taken)["code"]) == (409, "rubric_id_taken")
    assert (await _post_rubric(client, admin, "twice", V1)).status_code == 201
    again = await _post_rubric(client, admin, "twice", V2)
    assert (again.status_code, problem(again)["code"]) == (409, "rubric_id_taken")
    assert (await _rubric(client, admin, "/v1/rubrics/twice"))["title"] == V1["title"]
    unknown = await client.post("/v1/rubrics/never-made/versions", json=V2, headers=admin.headers)
    assert unknown.status_code == 404, unknown.text
