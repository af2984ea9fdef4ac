"""Authentication, profiles, dealership and user management over the HTTP API."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.conftest import PASSWORD, Account, Tenant, problem


async def test_token_then_me_returns_the_signed_in_profile(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/me", headers=tenant.admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == tenant.admin.email
    assert body["role"] == "dealership_admin"
    assert body["dealership_id"] == tenant.dealership_id
    assert "password_hash" not in body


async def test_wrong_password_answers_401_problem_json(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/auth/token", json={"email": tenant.admin.email, "password": "not-the-password"}
    )
    assert response.status_code == 401
    body = problem(response)
    assert body["code"] == "authentication_failed"
    assert body["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_email_answers_exactly_like_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/auth/token", json={"email": "nobody@example.com", "password": "whatever-it-is"}
    )
    assert response.status_code == 401
    assert problem(response)["detail"] == "email or password is wrong"


async def test_malformed_json_answers_400_problem_json_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/auth/token",
        content=b'{"email": "a@b.c", "password": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_request"
    wrong_types = await client.post(
        "/v1/users", json={"email": 5, "password": []}, headers=tenant.admin.headers
    )
    assert wrong_types.status_code == 400
    assert problem(wrong_types)["code"] == "invalid_request"


async def test_unknown_route_and_wrong_method_answer_problem_json(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert problem(missing)["code"] == "not_found"
    wrong_method = await client.put("/v1/me")
    assert wrong_method.status_code == 405
    assert problem(wrong_method)["code"] == "method_not_allowed"


async def test_missing_or_bad_token_answers_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/me")).status_code == 401
    bad = await client.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401
    assert problem(bad)["code"] == "invalid_token"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health/live")
    assert len(generated.headers["x-request-id"]) >= 16


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    login = await client.post(
        "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
    )
    first = login.json()["refresh_token"]
    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    # A repeat moments later, while `second` is unused, is a concurrent refresh: same answer.
    repeated = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert repeated.status_code == 200
    assert repeated.json()["refresh_token"] == second
    third = (await client.post("/v1/auth/refresh", json={"refresh_token": second})).json()

    reuse = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401
    # The reuse revoked the family: the newest token of that session is dead too.
    after = await client.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert after.status_code == 401


async def test_logout_revokes_the_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    login = await client.post(
        "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
    )
    tokens = login.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = await client.post(
        "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert out.status_code == 204
    again = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_dealership_admin_cannot_see_or_touch_users_of_another_dealership(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign_user = other_tenant.user.id
    headers = tenant.admin.headers
    assert (await client.get(f"/v1/users/{foreign_user}", headers=headers)).status_code == 404
    patched = await client.patch(
        f"/v1/users/{foreign_user}", json={"first_name": "X"}, headers=headers
    )
    assert patched.status_code == 404
    assert (await client.delete(f"/v1/users/{foreign_user}", headers=headers)).status_code == 404
    created = await client.post(
        "/v1/users",
        json={
            "email": f"intruder-{uuid.uuid4().hex[:6]}@example.com",
            "password": PASSWORD,
            "role": "user",
            "dealership_id": other_tenant.dealership_id,
        },
        headers=headers,
    )
    assert created.status_code == 404
    listed = await client.get("/v1/users", headers=headers)
    assert listed.status_code == 200
    ids = {u["id"] for u in listed.json()["items"]}
    assert tenant.user.id in ids
    assert foreign_user not in ids


async def test_plain_user_cannot_manage_users_or_dealerships(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.user.headers
    assert (await client.get("/v1/users", headers=headers)).status_code == 403
    assert (await client.get("/v1/dealerships", headers=headers)).status_code == 403
    forbidden = await client.post("/v1/dealerships", json={"name": "Mine"}, headers=headers)
    assert forbidden.status_code == 403
    assert problem(forbidden)["code"] == "permission_denied"


async def test_dealership_admin_cannot_grant_super_admin(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/users",
        json={
            "email": f"boss-{uuid.uuid4().hex[:6]}@example.com",
            "password": PASSWORD,
            "role": "super_admin",
        },
        headers=tenant.admin.headers,
    )
    assert response.status_code == 403


async def test_duplicate_email_answers_409(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/users",
        json={"email": tenant.user.email.upper(), "password": PASSWORD, "role": "user"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 409
    body = problem(response)
    assert body["code"] == "email_taken"
    assert "details" not in body, "no constraint name"


async def test_deactivated_dealership_can_no_longer_sign_in(
    client: httpx.AsyncClient, tenant: Tenant, super_admin: Account
) -> None:
    response = await client.delete(
        f"/v1/dealerships/{tenant.dealership_id}", headers=super_admin.headers
    )
    assert response.status_code == 200
    assert response.json()["active"] is False
    login = await client.post(
        "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_lists_paginate_with_a_cursor_without_gaps(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for index in range(3):
        created = await client.post(
            "/v1/users",
            json={
                "email": f"page-{index}-{uuid.uuid4().hex[:6]}@example.com",
                "password": PASSWORD,
                "role": "user",
            },
            headers=tenant.admin.headers,
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/v1/users", params=params, headers=tenant.admin.headers)
        assert page.status_code == 200
        seen.extend(u["id"] for u in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5  # admin, user, and three new users
    bad = await client.get("/v1/users", params={"cursor": "!!"}, headers=tenant.admin.headers)
    assert bad.status_code == 400, "a cursor the API never issued is a malformed request"
    assert problem(bad)["code"] == "invalid_request"


async def test_readiness_reports_each_backing_service(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["postgres_primary"]["status"] == "ok"
    assert checks["redis"]["status"] == "ok"


async def test_openapi_document_and_docs_page_are_served(client: httpx.AsyncClient) -> None:
    spec = await client.get("/schema/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/v1/auth/token" in paths
    assert "/v1/documents" in paths
    docs = await client.get("/docs", follow_redirects=True)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
