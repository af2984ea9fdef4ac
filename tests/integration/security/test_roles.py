"""Role checks on every endpoint of the route table.

Every route is classified below; an unclassified one fails the first test, so a new
endpoint cannot skip this question. Refusals are asked with the caller's own
dealership's objects: the 403 can only come from the role, not from tenancy.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from avataradam.adapters.memory.speech import wav_with_text
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.app import create_app
from tests.integration.conftest import PASSWORD, Account, Tenant, problem
from tests.integration.security.conftest import Holdings, holdings_of

Route = tuple[str, str]

PUBLIC: set[Route] = {
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
}
SUPER_ADMIN_ONLY: set[Route] = {
    ("POST", "/v1/dealerships"),
    ("GET", "/v1/dealerships"),
    ("GET", "/v1/dealerships/{dealership_id:uuid}"),
    ("PATCH", "/v1/dealerships/{dealership_id:uuid}"),
    ("DELETE", "/v1/dealerships/{dealership_id:uuid}"),
}
ADMIN_ONLY: set[Route] = {
    ("POST", "/v1/users"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/{user_id:uuid}"),  # another user; anyone may read themselves
    ("PATCH", "/v1/users/{user_id:uuid}"),
    ("DELETE", "/v1/users/{user_id:uuid}"),
    ("POST", "/v1/users/{user_id:uuid}/sessions/revoke"),
    ("POST", "/v1/documents"),
    ("DELETE", "/v1/documents/{document_id:uuid}"),
    ("POST", "/v1/documents/{document_id:uuid}/retry"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhook_id:uuid}"),
    ("DELETE", "/v1/webhooks/{webhook_id:uuid}"),
    ("POST", "/v1/webhooks/{webhook_id:uuid}/rotate-secret"),
    ("GET", "/v1/feedback"),
    ("GET", "/v1/usage"),
    ("GET", "/v1/analytics/overview"),
    ("GET", "/v1/analytics/knowledge-gaps"),
    ("POST", "/v1/analytics/knowledge-gaps/{gap_id:uuid}/resolve"),
    # The dealership's own scenarios; built-ins are read-only for every role.
    ("POST", "/v1/scenarios"),
    ("PATCH", "/v1/scenarios/{scenario_id:str}"),
    ("DELETE", "/v1/scenarios/{scenario_id:str}"),
    # Assigning practice; trainees read their own assignments only.
    ("POST", "/v1/assignments"),
    ("PATCH", "/v1/assignments/{assignment_id:uuid}"),
    ("DELETE", "/v1/assignments/{assignment_id:uuid}"),
    # The dealership's own rubrics (built-ins are read-only: `rubric_read_only`).
    ("POST", "/v1/rubrics"),
    ("POST", "/v1/rubrics/{rubric:str}/versions"),
    # Re-scoring a completed session of their dealership (the holdings' conversation is
    # a training one: allowed, the admin gets past the role check to a 404).
    ("POST", "/v1/conversations/{conversation_id:uuid}/scorecard/rescore"),
    # Their own dealership's; another's answers like a missing one (test_tenant_isolation).
    ("POST", "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings"),
    ("GET", "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings"),
    ("GET", "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings/{generation:int}"),
}
ANY_USER: set[Route] = {
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/me"),
    ("POST", "/v1/me/password"),
    ("GET", "/v1/documents"),
    ("GET", "/v1/documents/{document_id:uuid}"),
    # A cited passage: trainees open the sources of Adam's answers.
    ("GET", "/v1/documents/{document_id:uuid}/passages/{index:int}"),
    ("POST", "/v1/search"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations"),
    ("GET", "/v1/conversations/scenarios"),
    ("GET", "/v1/scenarios"),
    ("GET", "/v1/scenarios/{scenario_id:str}"),
    # An admin: the dealership's; a trainee: their own (the holdings' user is assigned).
    ("GET", "/v1/assignments"),
    ("GET", "/v1/assignments/{assignment_id:uuid}"),
    # Built-in rubrics and the dealership's own (`rubric`: the holdings' own one).
    ("GET", "/v1/rubrics"),
    ("GET", "/v1/rubrics/{rubric:str}"),
    ("GET", "/v1/conversations/{conversation_id:uuid}"),
    ("POST", "/v1/conversations/{conversation_id:uuid}/messages"),
    # The owner completes a roleplay (the holdings' training one answers 422), and reads
    # its scorecard (an admin of the dealership too).
    ("POST", "/v1/conversations/{conversation_id:uuid}/complete"),
    ("GET", "/v1/conversations/{conversation_id:uuid}/scorecard"),
    ("POST", "/v1/messages/{message_id:uuid}/feedback"),
    # A trainee's own; another person's answers 404 (test_analytics_api.py).
    ("GET", "/v1/analytics/users/{user_id:uuid}"),
    # Every member once the dealership opted in; else 403 `feature_disabled`, which is
    # past the role check.
    ("GET", "/v1/analytics/leaderboard"),
    # Speech: anyone speaks and transcribes; a reply's audio is its conversation's
    # owner's (another's answers 404); no avatar provider here: `feature_disabled`.
    ("POST", "/v1/speech"),
    ("GET", "/v1/speech/voices"),
    ("GET", "/v1/messages/{message_id:uuid}/audio"),
    ("POST", "/v1/transcriptions"),
    ("POST", "/v1/avatar/sessions"),
}


ROGUE_RUBRIC: dict[str, Any] = {
    "title": "Rogue rubric",
    "criteria": [
        {
            "id": "rogue",
            "title": "Rogue",
            "weight": 1,
            "checks": [{"id": "said_rogue", "description": "Rogue?", "exemplars": ["rogue"]}],
        }
    ],
}
"""A valid own rubric version: only the role can refuse it."""

ENDS_SESSIONS: set[Route] = {("POST", "/v1/users/{user_id:uuid}/sessions/revoke")}
"""Ends the sessions of `user_id` (here the admin's own): test_sessions.py covers it."""


def _request(route: Route, ids: dict[str, str]) -> dict[str, Any]:
    """A request that passes validation, so only authorization can refuse it."""
    method, template = route
    bodies: dict[Route, dict[str, Any]] = {
        ("POST", "/v1/dealerships"): {"json": {"name": "Rogue Motors"}},
        ("PATCH", "/v1/dealerships/{dealership_id:uuid}"): {"json": {"name": "Renamed"}},
        ("POST", "/v1/users"): {
            "json": {"email": "rogue@example.com", "password": PASSWORD, "role": "user"}
        },
        ("PATCH", "/v1/users/{user_id:uuid}"): {"json": {"role": "dealership_admin"}},
        ("POST", "/v1/documents"): {
            "files": {"file": ("rogue.txt", b"Rogue upload.\n" * 3)},
            "data": {"topic": "books"},
        },
        ("POST", "/v1/webhooks"): {
            "json": {"url": "https://hooks.example.com/rogue", "events": ["document.ready"]}
        },
        ("POST", "/v1/search"): {"json": {"query": "GAP"}},
        ("POST", "/v1/scenarios"): {
            "json": {
                "slug": "rogue_scenario",
                "title": "Rogue",
                "product": "vsc",
                "difficulty": 1,
                "persona": {
                    "name": "Rogue",
                    "description": "a customer nobody asked for",
                    "opening_lines": ["Hello."],
                    "script": ["No."],
                },
                "objectives": ["None."],
            }
        },
        ("PATCH", "/v1/scenarios/{scenario_id:str}"): {"json": {"title": "Renamed"}},
        ("POST", "/v1/assignments"): {
            "json": {
                "scenario_id": "gap_negative_equity",
                "assignee_ids": [ids["user_id"]],
                "due_at": "2999-01-01T00:00:00Z",
                "min_score": 50,
                "note": "Rogue",
            }
        },
        ("PATCH", "/v1/assignments/{assignment_id:uuid}"): {"json": {"note": "Renamed"}},
        ("POST", "/v1/rubrics"): {"json": {"id": "rogue-rubric", **ROGUE_RUBRIC}},
        ("POST", "/v1/rubrics/{rubric:str}/versions"): {"json": ROGUE_RUBRIC},
        ("POST", "/v1/conversations"): {"json": {"mode": "roleplay"}},
        ("POST", "/v1/conversations/{conversation_id:uuid}/messages"): {
            "json": {"content": "Hello"}
        },
        ("POST", "/v1/messages/{message_id:uuid}/feedback"): {"json": {"rating": "up"}},
        ("POST", "/v1/speech"): {"json": {"text": "Is it optional?"}},
        ("POST", "/v1/transcriptions"): {
            "files": {"file": ("rogue.wav", wav_with_text("Is it optional?", seconds=0.5))}
        },
        ("POST", "/v1/auth/logout"): {"json": {"refresh_token": "not-a-session"}},
        ("POST", "/v1/admin/dealerships/{dealership_id:uuid}/reembeddings"): {"json": {}},
        ("POST", "/v1/analytics/knowledge-gaps/{gap_id:uuid}/resolve"): {
            "json": {"note": "Rogue resolution"}
        },
        # A new password too short to be set: authorized, then refused as malformed.
        ("POST", "/v1/me/password"): {
            "json": {"current_password": PASSWORD, "new_password": "too-short"}
        },
    }
    path = template.replace("{generation:int}", "1").replace("{index:int}", "0")
    for name, value in ids.items():
        path = path.replace(f"{{{name}:uuid}}", value).replace(f"{{{name}:str}}", value)
    return {"method": method, "url": path, **bodies.get(route, {})}


@pytest.fixture(scope="module")
async def own(client: httpx.AsyncClient, attacker: Tenant, container: Container) -> Holdings:
    """The caller's own dealership's objects; `user_id` is another user (the admin)."""
    holdings = await holdings_of(client, attacker, container)
    return Holdings(holdings.tenant, holdings.ids | {"user_id": attacker.admin.id})


def test_every_route_of_the_app_is_classified(container: Container) -> None:
    classified = PUBLIC | SUPER_ADMIN_ONLY | ADMIN_ONLY | ANY_USER
    routes = {
        (method, route.path)
        for route in create_app(container).routes
        if not route.path.startswith("/schema")
        for method in getattr(route, "methods", set()) - {"OPTIONS", "HEAD"}
    }
    assert routes - classified == set(), "classify the new routes in test_roles.py"
    assert classified - routes == set(), "a classified route no longer exists"


async def _refused(
    client: httpx.AsyncClient, routes: set[Route], own: Holdings, account: Account
) -> list[str]:
    wrong = []
    for route in sorted(routes):
        response = await client.request(**_request(route, own.ids), headers=account.headers)
        if response.status_code != 403 or problem(response)["code"] != "permission_denied":
            wrong.append(f"{route}: {response.status_code} {response.text[:120]}")
    return wrong


async def test_plain_user_is_refused_every_admin_and_super_admin_endpoint(
    client: httpx.AsyncClient, own: Holdings
) -> None:
    user = own.tenant.user
    wrong = await _refused(client, ADMIN_ONLY | SUPER_ADMIN_ONLY, own, user)
    assert not wrong, "\n".join(wrong)


async def test_dealership_admin_is_refused_every_super_admin_endpoint(
    client: httpx.AsyncClient, own: Holdings
) -> None:
    wrong = await _refused(client, SUPER_ADMIN_ONLY, own, own.tenant.admin)
    assert not wrong, "\n".join(wrong)


async def test_refusals_changed_nothing(client: httpx.AsyncClient, own: Holdings) -> None:
    admin = own.tenant.admin.headers
    users = await client.get("/v1/users", headers=admin)
    assert "rogue@example.com" not in {u["email"] for u in users.json()["items"]}
    documents = await client.get("/v1/documents", headers=admin)
    assert [d["filename"] for d in documents.json()["items"]] == ["secret.txt"]
    webhooks = await client.get("/v1/webhooks", headers=admin)
    assert len(webhooks.json()["items"]) == 1
    scenario = await client.get(f"/v1/scenarios/{own.ids['scenario_id']}", headers=admin)
    assert scenario.json()["title"] != "Renamed"
    scenarios = await client.get("/v1/scenarios?limit=200", headers=admin)
    assert "rogue_scenario" not in {s["slug"] for s in scenarios.json()["items"]}
    rubrics = await client.get("/v1/rubrics", headers=admin)
    assert "rogue-rubric" not in {r["id"] for r in rubrics.json()["items"]}
    rubric = await client.get(f"/v1/rubrics/{own.ids['rubric']}", headers=admin)
    assert rubric.json()["versions"] == [1]
    me = await client.get(f"/v1/users/{own.tenant.admin.id}", headers=admin)
    assert me.json()["role"] == "dealership_admin"
    assignments = await client.get("/v1/assignments", headers=admin)
    assert [a["note"] for a in assignments.json()["items"]] == [
        "Our confidential drill for one trainee"
    ]


async def test_roles_that_may_act_are_not_refused(client: httpx.AsyncClient, own: Holdings) -> None:
    """The classification is not vacuous: the allowed role gets past authorization."""
    allowed = [(r, own.tenant.user) for r in ANY_USER] + [(r, own.tenant.admin) for r in ADMIN_ONLY]
    refused = []
    for route, account in sorted(allowed, key=lambda pair: pair[0]):
        if route[0] == "DELETE" or route in ENDS_SESSIONS:
            continue  # would remove the objects (or end the sessions) other routes use
        response = await client.request(**_request(route, own.ids), headers=account.headers)
        if response.status_code == 403 and problem(response)["code"] == "permission_denied":
            refused.append(f"{route}: {response.status_code} {response.text[:120]}")
    assert not refused, "\n".join(refused)
