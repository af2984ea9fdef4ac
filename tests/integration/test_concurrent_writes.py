"""One resource, many identical requests at once, over two API processes.

For every write endpoint, N identical requests released together (tests/support/
concurrency.py) have exactly one effect; the others answer a replay of the first answer
(`Idempotent-Replayed: true`) or a documented problem carrying what the client needs.
Each case repeats its race a few times with fresh resources, so that an interleaving
that breaks the rule shows up. What each endpoint does is stated in
docs/guide/09-pagination-and-idempotency.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from avataradam.entrypoints.container import Container
from tests.integration.conftest import PASSWORD, Account, Tenant, new_tenant, service_environment
from tests.support.concurrency import Call, Raced, api_servers, race, same

N = 6
ROUNDS = 3
INTERNALS = (
    "constraint",
    "_pkey",
    "_fkey",
    "users_email_key",
    "documents_content_key",
    "scenarios_live_slug_key",
    "_rater_key",
)
"""Database constraint names (any `<table>_..._key/pkey/fkey`) never reach a problem."""


@pytest.fixture(scope="module")
def apis(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    env = service_environment(database_url, redis_url)
    with api_servers(env, tmp_path_factory.mktemp("concurrent-apis")) as urls:
        yield urls


def _upload(admin: Account, content: bytes, *, key: str | None = None) -> Call:
    headers = admin.headers | ({"Idempotency-Key": key} if key else {})
    return lambda client: client.build_request(
        "POST",
        "/v1/documents",
        files={"file": ("race.txt", content, "text/plain")},
        data={"topic": "playbooks"},
        headers=headers,
    )


def _post(account: Account, path: str, body: dict[str, Any], *, key: str | None = None) -> Call:
    headers = account.headers | ({"Idempotency-Key": key} if key else {})
    return lambda client: client.build_request("POST", path, json=body, headers=headers)


def _refresh(token: str, client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request("POST", "/v1/auth/refresh", json={"refresh_token": token})


def _request(account: Account, method: str, path: str) -> Call:
    return lambda client: client.build_request(method, path, headers=account.headers)


def _assert_no_internals(raced: Raced) -> None:
    for response in raced.responses:
        assert response.status_code < 500, response.text
        for word in INTERNALS:
            assert word not in response.text, response.text


def _one_first_and_replays(raced: Raced, status: int) -> dict[str, Any]:
    """The rule for a repeated Idempotency-Key: one first answer, the rest replay it."""
    assert raced.statuses == {status: N}, [r.text for r in raced.responses]
    first = [r for r in raced.responses if "idempotent-replayed" not in r.headers]
    replays = [r for r in raced.responses if r.headers.get("idempotent-replayed") == "true"]
    assert (len(first), len(replays)) == (1, N - 1)
    assert all(r.json() == first[0].json() for r in replays)
    answer: dict[str, Any] = first[0].json()
    return answer


async def test_identical_uploads_store_one_document_and_the_others_name_it(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        content = f"Menu selling, round {uuid.uuid4()}.\n".encode()
        raced = await race(apis, same(_upload(tenant.admin, content), N))
        _assert_no_internals(raced)
        assert raced.statuses == {202: 1, 409: N - 1}, [r.text for r in raced.responses]
        [accepted] = raced.with_status(202)
        for refused in raced.with_status(409):
            assert refused.json()["code"] == "duplicate_document"
            assert refused.json()["details"] == {"document_id": accepted.json()["id"]}
        listed = await client.get("/v1/documents?limit=200", headers=tenant.admin.headers)
        same_bytes = [d for d in listed.json()["items"] if d["sha256"] == accepted.json()["sha256"]]
        assert [d["id"] for d in same_bytes] == [accepted.json()["id"]]


async def test_one_idempotency_key_sent_at_once_answers_one_first_upload_and_replays(
    apis: list[str], tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        content = f"Disclose every product's price, round {uuid.uuid4()}.\n".encode()
        raced = await race(apis, same(_upload(tenant.admin, content, key=str(uuid.uuid4())), N))
        _assert_no_internals(raced)
        document = _one_first_and_replays(raced, 202)
        assert all(
            r.headers["location"] == f"/v1/documents/{document['id']}" for r in raced.responses
        )


async def test_one_idempotency_key_with_different_files_at_once_stores_one_and_refuses_the_rest(
    apis: list[str], tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        key = str(uuid.uuid4())
        calls = [
            _upload(tenant.admin, f"File {i} {uuid.uuid4()}\n".encode(), key=key) for i in range(N)
        ]
        raced = await race(apis, calls)
        _assert_no_internals(raced)
        assert raced.statuses == {202: 1, 422: N - 1}, [r.text for r in raced.responses]
        for refused in raced.with_status(422):
            assert refused.json()["code"] == "idempotency_key_reused"
            assert refused.json()["errors"] == [
                {"field": "Idempotency-Key", "message": refused.json()["detail"]}
            ]


async def test_a_replayed_upload_answers_its_first_answer_after_the_document_is_deleted(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = str(uuid.uuid4())
    content = f"Gone soon {uuid.uuid4()}\n".encode()
    first = (await race(apis, [_upload(tenant.admin, content, key=key)])).responses[0]
    assert first.status_code == 202, first.text
    deleted = await client.delete(
        f"/v1/documents/{first.json()['id']}", headers=tenant.admin.headers
    )
    assert deleted.status_code == 202

    replay = (await race(apis, [_upload(tenant.admin, content, key=key)])).responses[0]

    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json(), "the first answer, as it was given"
    current = await client.get(f"/v1/documents/{first.json()['id']}", headers=tenant.admin.headers)
    assert current.status_code == 404 or current.json()["status"] == "deleting"


async def test_identical_ratings_at_once_leave_one_rating_and_the_latest_wins(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    conversation = await client.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    for _ in range(ROUNDS):
        reply = await client.post(
            f"/v1/conversations/{conversation.json()['id']}/messages",
            json={"content": "Is GAP required?"},
            headers=tenant.user.headers,
        )
        assert reply.status_code == 201, reply.text
        path = f"/v1/messages/{reply.json()['id']}/feedback"
        raced = await race(apis, same(_post(tenant.user, path, {"rating": "down"}), N))
        _assert_no_internals(raced)
        assert raced.statuses == {201: 1, 200: N - 1}, [r.text for r in raced.responses]
        assert len({r.json()["id"] for r in raced.responses}) == 1

        changed = await client.post(path, json={"rating": "up"}, headers=tenant.user.headers)
        assert changed.status_code == 200
        assert changed.json()["id"] == raced.responses[0].json()["id"]
        reports = await client.get("/v1/feedback?limit=200", headers=tenant.admin.headers)
        mine = [f for f in reports.json()["items"] if f["message_id"] == reply.json()["id"]]
        assert [f["rating"] for f in mine] == ["up"]


async def test_identical_new_users_at_once_create_one_and_the_others_say_email_taken(
    apis: list[str], tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        body = {"email": f"twin-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        raced = await race(apis, same(_post(tenant.admin, "/v1/users", body), N))
        _assert_no_internals(raced)
        assert raced.statuses == {201: 1, 409: N - 1}, [r.text for r in raced.responses]
        for refused in raced.with_status(409):
            assert refused.json()["code"] == "email_taken"
            assert refused.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("path", "body", "who"),
    [
        ("/v1/dealerships", {"name": "Twin Motors"}, "super_admin"),
        ("/v1/conversations", {"mode": "roleplay"}, "user"),
        (
            "/v1/webhooks",
            {"url": "https://hooks.example.com/a", "events": ["document.ready"]},
            "admin",
        ),
    ],
)
async def test_creates_with_one_idempotency_key_at_once_make_one_object_and_replay_it(
    apis: list[str], tenant: Tenant, super_admin: Account, path: str, body: dict[str, Any], who: str
) -> None:
    account = {"super_admin": super_admin, "admin": tenant.admin, "user": tenant.user}[who]
    for _ in range(ROUNDS):
        raced = await race(apis, same(_post(account, path, body, key=str(uuid.uuid4())), N))
        _assert_no_internals(raced)
        _one_first_and_replays(raced, 201)


@pytest.mark.parametrize(
    ("path", "body", "who"),
    [
        ("/v1/dealerships", {"name": "Twin Motors"}, "super_admin"),
        ("/v1/conversations", {"mode": "training"}, "user"),
        (
            "/v1/webhooks",
            {"url": "https://hooks.example.com/b", "events": ["document.ready"]},
            "admin",
        ),
    ],
)
async def test_creates_without_a_key_make_one_object_per_request(
    apis: list[str], tenant: Tenant, super_admin: Account, path: str, body: dict[str, Any], who: str
) -> None:
    account = {"super_admin": super_admin, "admin": tenant.admin, "user": tenant.user}[who]
    raced = await race(apis, same(_post(account, path, body), N))
    _assert_no_internals(raced)
    assert raced.statuses == {201: N}
    assert len({r.json()["id"] for r in raced.responses}) == N


async def test_identical_messages_at_once_are_that_many_turns(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    conversation = await client.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    path = f"/v1/conversations/{conversation.json()['id']}/messages"
    raced = await race(apis, same(_post(tenant.user, path, {"content": "What is GAP?"}), N))
    _assert_no_internals(raced)
    assert raced.statuses == {201: N}
    detail = await client.get(
        f"/v1/conversations/{conversation.json()['id']}", headers=tenant.user.headers
    )
    roles = [m["role"] for m in detail.json()["messages"]]
    assert roles.count("user") == roles.count("assistant") == N


async def test_identical_deletes_at_once_delete_once_and_all_answer_the_deleting_document(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        uploaded = await client.post(
            "/v1/documents",
            files={"file": ("d.txt", f"Delete me {uuid.uuid4()}\n".encode(), "text/plain")},
            data={"topic": "books"},
            headers=tenant.admin.headers,
        )
        path = f"/v1/documents/{uploaded.json()['id']}"
        raced = await race(apis, same(_request(tenant.admin, "DELETE", path), N))
        _assert_no_internals(raced)
        assert raced.statuses == {202: N}
        bodies = raced.bodies()
        assert all(b == bodies[0] for b in bodies), "one transition, answered to everyone"
        assert bodies[0]["status"] == "deleting"


async def _failed_document(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, attempts: int = 20
) -> str:
    """The id of a newly uploaded document, failed. The session's worker may take an
    upload before it is failed here (then it is processing or ready, and `mark_failed`
    refuses it): another one is uploaded until one is failed while still queued."""
    for _ in range(attempts):
        uploaded = await client.post(
            "/v1/documents",
            files={"file": ("r.txt", f"Retry me {uuid.uuid4()}\n".encode(), "text/plain")},
            data={"topic": "books"},
            headers=tenant.admin.headers,
        )
        document_id = str(uploaded.json()["id"])
        failed = await container.mark_failed(
            uuid.UUID(document_id), code="corrupt_file", message="test"
        )
        if failed:
            return document_id
    raise AssertionError(f"the worker took each of {attempts} uploads before it was failed")


async def test_identical_retries_at_once_queue_once_and_the_others_say_its_status(
    apis: list[str], client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        document_id = await _failed_document(client, container, tenant)
        path = f"/v1/documents/{document_id}/retry"
        raced = await race(apis, same(_request(tenant.admin, "POST", path), N))
        _assert_no_internals(raced)
        assert raced.statuses == {202: 1, 409: N - 1}, [r.text for r in raced.responses]
        for refused in raced.with_status(409):
            assert refused.json()["code"] == "document_not_retryable"
            assert refused.json()["details"]["status"] in {"queued", "processing", "ready"}


async def test_identical_webhook_deletes_at_once_delete_once_then_not_found(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/gone", "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )
    path = f"/v1/webhooks/{created.json()['id']}"
    raced = await race(apis, same(_request(tenant.admin, "DELETE", path), N))
    _assert_no_internals(raced)
    assert raced.statuses == {204: 1, 404: N - 1}


def _scenario(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": "Twin customer",
        "product": "vsc",
        "difficulty": 1,
        "persona": {
            "name": "Twin",
            "description": "a customer asked for twice at once",
            "opening_lines": ["Hello?"],
            "script": ["Is it optional?"],
        },
        "objectives": ["Say it is optional."],
    }


async def test_identical_scenarios_at_once_create_one_and_replay_or_say_slug_taken(
    apis: list[str], tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        keyed = _scenario(f"keyed_{uuid.uuid4().hex[:8]}")
        raced = await race(
            apis, same(_post(tenant.admin, "/v1/scenarios", keyed, key=str(uuid.uuid4())), N)
        )
        _assert_no_internals(raced)
        _one_first_and_replays(raced, 201)
        raced = await race(
            apis,
            same(
                _post(tenant.admin, "/v1/scenarios", _scenario(f"twin_{uuid.uuid4().hex[:8]}")), N
            ),
        )
        _assert_no_internals(raced)
        assert raced.statuses == {201: 1, 409: N - 1}, [r.text for r in raced.responses]
        for refused in raced.with_status(409):
            assert refused.json()["code"] == "scenario_slug_taken"
            assert refused.json()["errors"][0]["field"] == "slug"
        path = f"/v1/scenarios/{raced.with_status(201)[0].json()['id']}"
        raced = await race(apis, same(_request(tenant.admin, "DELETE", path), N))
        _assert_no_internals(raced)
        assert raced.statuses == {204: 1, 404: N - 1}


async def test_identical_dealership_and_user_updates_at_once_all_answer_the_same_state(
    apis: list[str], client: httpx.AsyncClient, super_admin: Account
) -> None:
    tenant = await new_tenant(client, super_admin)
    rename: Call = lambda c: c.build_request(  # noqa: E731 -- one request, built per client
        "PATCH",
        f"/v1/dealerships/{tenant.dealership_id}",
        json={"name": "Renamed Motors"},
        headers=super_admin.headers,
    )
    raced = await race(apis, same(rename, N))
    _assert_no_internals(raced)
    assert raced.statuses == {200: N}
    assert {r.json()["name"] for r in raced.responses} == {"Renamed Motors"}

    names: Call = lambda c: c.build_request(  # noqa: E731
        "PATCH",
        f"/v1/users/{tenant.user.id}",
        json={"first_name": "Casey"},
        headers=tenant.admin.headers,
    )
    raced = await race(apis, same(names, N))
    _assert_no_internals(raced)
    assert raced.statuses == {200: N}
    assert {r.json()["first_name"] for r in raced.responses} == {"Casey"}


async def test_identical_logouts_at_once_all_succeed(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    signed_in = await client.post(
        "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
    )
    refresh = signed_in.json()["refresh_token"]
    raced = await race(
        apis, same(_post(tenant.user, "/v1/auth/logout", {"refresh_token": refresh}), N)
    )
    _assert_no_internals(raced)
    assert raced.statuses == {204: N}
    again = await client.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401


async def test_identical_refreshes_at_once_rotate_once_and_all_get_the_same_new_token(
    apis: list[str], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(ROUNDS):
        signed_in = await client.post(
            "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
        )
        token = signed_in.json()["refresh_token"]
        refresh: Call = partial(_refresh, token)
        raced = await race(apis, same(refresh, N))
        _assert_no_internals(raced)
        assert raced.statuses == {200: N}, [r.text for r in raced.responses]
        [successor] = {r.json()["refresh_token"] for r in raced.responses}
        renewed = await client.post("/v1/auth/refresh", json={"refresh_token": successor})
        assert renewed.status_code == 200, "the session survived its concurrent refreshes"
