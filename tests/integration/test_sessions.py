"""Sessions and authorization follow the account, at once, over the real API.

Each change of password, role, activity or dealership state is made through the API,
and the very next request of a session opened before it shows its effect: refresh
tokens revoked for good, access tokens refused (`session_ended`) or, for a role change,
judged by the new role. The session's own super admin is never touched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.container import Container
from tests.integration.conftest import PASSWORD, Account, Tenant, problem

NEW_PASSWORD = "a-brand-new-passphrase"


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def _sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Session:
    response = await client.post("/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Session(body["access_token"], body["refresh_token"])


async def _refresh(client: httpx.AsyncClient, session: Session) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token})


def _ended(response: httpx.Response) -> bool:
    return response.status_code == 401 and problem(response)["code"] == "session_ended"


async def test_an_admin_password_reset_ends_every_session_of_the_user(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    laptop = await _sign_in(client, tenant.user.email)
    phone = await _sign_in(client, tenant.user.email)
    reset = await client.patch(
        f"/v1/users/{tenant.user.id}", json={"password": NEW_PASSWORD}, headers=tenant.admin.headers
    )
    assert reset.status_code == 200, reset.text
    assert _ended(await client.get("/v1/me", headers=laptop.headers))
    for session in (laptop, phone):
        stolen = await _refresh(client, session)
        assert stolen.status_code == 401, "a stolen refresh token does not survive the reset"
        assert problem(stolen)["code"] == "invalid_token"
    old = await client.post(
        "/v1/auth/token", json={"email": tenant.user.email, "password": PASSWORD}
    )
    assert old.status_code == 401
    fresh = await _sign_in(client, tenant.user.email, NEW_PASSWORD)
    assert (await client.get("/v1/me", headers=fresh.headers)).status_code == 200
    assert (await client.get("/v1/me", headers=tenant.admin.headers)).status_code == 200


async def test_a_deactivation_revokes_for_good_and_a_reactivation_brings_nothing_back(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await _sign_in(client, tenant.user.email)
    users = f"/v1/users/{tenant.user.id}"
    off = await client.delete(users, headers=tenant.admin.headers)
    assert off.status_code == 200
    assert _ended(await client.post("/v1/search", json={"query": "gap"}, headers=before.headers))
    assert _ended(
        await client.post("/v1/conversations", json={"mode": "training"}, headers=before.headers)
    )
    on = await client.patch(users, json={"active": True}, headers=tenant.admin.headers)
    assert on.json()["active"] is True
    assert (await _refresh(client, before)).status_code == 401
    assert _ended(await client.get("/v1/me", headers=before.headers))
    after = await _sign_in(client, tenant.user.email)
    assert (await client.get("/v1/me", headers=after.headers)).status_code == 200


async def test_a_demoted_admin_loses_admin_powers_on_the_next_request(
    client: httpx.AsyncClient, tenant: Tenant, super_admin: Account
) -> None:
    admin = tenant.admin.headers
    assert (await client.get("/v1/users", headers=admin)).status_code == 200
    demoted = await client.patch(
        f"/v1/users/{tenant.admin.id}", json={"role": "user"}, headers=super_admin.headers
    )
    assert demoted.status_code == 200
    me = await client.get("/v1/me", headers=admin)
    assert me.json()["role"] == "user", "the session goes on, with the new role"
    listed = await client.get("/v1/users", headers=admin)
    assert listed.status_code == 403
    assert problem(listed)["code"] == "permission_denied"
    upload = await client.post(
        "/v1/documents",
        files={"file": ("gap.txt", b"GAP covers the gap.\n" * 3)},
        data={"topic": "books"},
        headers=admin,
    )
    assert upload.status_code == 403
    promoted = await client.patch(
        f"/v1/users/{tenant.user.id}",
        json={"role": "dealership_admin"},
        headers=super_admin.headers,
    )
    assert promoted.status_code == 200
    assert (await client.get("/v1/users", headers=tenant.user.headers)).status_code == 200


async def test_the_admin_of_a_deactivated_dealership_can_do_nothing_more(
    client: httpx.AsyncClient, tenant: Tenant, super_admin: Account
) -> None:
    before = await _sign_in(client, tenant.admin.email)
    dealership = f"/v1/dealerships/{tenant.dealership_id}"
    assert (await client.delete(dealership, headers=super_admin.headers)).status_code == 200
    created = await client.post(
        "/v1/users",
        json={"email": f"late-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD},
        headers=tenant.admin.headers,
    )
    assert _ended(created)
    hook = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/late", "events": ["document.ready"]},
        headers=tenant.admin.headers,
    )
    assert _ended(hook)
    assert _ended(await client.post("/v1/search", json={"query": "x"}, headers=tenant.user.headers))
    back = await client.patch(dealership, json={"active": True}, headers=super_admin.headers)
    assert back.json()["active"] is True
    assert _ended(await client.get("/v1/me", headers=tenant.admin.headers))
    assert (await _refresh(client, before)).status_code == 401
    again = await _sign_in(client, tenant.admin.email)
    assert (await client.get("/v1/users", headers=again.headers)).status_code == 200


async def test_nobody_changes_their_own_password_with_an_access_token_alone(
    client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    root = await container.create_user.create(
        NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
    )
    session = await _sign_in(client, email)
    for account_id, headers in (
        (root.id, session.headers),
        (tenant.admin.id, tenant.admin.headers),
    ):
        refused = await client.patch(
            f"/v1/users/{account_id}", json={"password": NEW_PASSWORD}, headers=headers
        )
        assert refused.status_code == 403
        assert problem(refused)["code"] == "current_password_required"
    assert (await client.get("/v1/me", headers=session.headers)).status_code == 200
    await _sign_in(client, email)  # the password is unchanged


async def test_a_password_change_needs_the_current_one_and_ends_every_other_session(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    here = await _sign_in(client, tenant.user.email)
    elsewhere = await _sign_in(client, tenant.user.email)
    wrong = await client.post(
        "/v1/me/password",
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        headers=here.headers,
    )
    assert wrong.status_code == 403
    assert problem(wrong)["code"] == "wrong_current_password"
    short = await client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "too-short"},
        headers=here.headers,
    )
    assert short.status_code == 400, "the schema states the domain's 12 characters"
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here.headers,
    )
    assert changed.status_code == 200, changed.text
    successor = Session(changed.json()["access_token"], changed.json()["refresh_token"])
    assert (await client.get("/v1/me", headers=successor.headers)).status_code == 200
    assert (await _refresh(client, successor)).status_code == 200
    for old in (here, elsewhere):
        assert _ended(await client.get("/v1/me", headers=old.headers))
        assert (await _refresh(client, old)).status_code == 401
    await _sign_in(client, tenant.user.email, NEW_PASSWORD)


async def test_an_admin_ends_every_session_of_a_user_at_once(
    client: httpx.AsyncClient,
    container: Container,
    tenant: Tenant,
    other_tenant: Tenant,
    super_admin: Account,
) -> None:
    session = await _sign_in(client, tenant.user.email)
    end = f"/v1/users/{tenant.user.id}/sessions/revoke"
    assert (await client.post(end, headers=tenant.user.headers)).status_code == 403
    foreign = await client.post(end, headers=other_tenant.admin.headers)
    assert foreign.status_code == 404
    root_email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    root = await container.create_user.create(
        NewUser(email=root_email, password=PASSWORD, role=Role.SUPER_ADMIN), None
    )
    root_session = await _sign_in(client, root_email)
    refused = await client.post(
        f"/v1/users/{root.id}/sessions/revoke", headers=tenant.admin.headers
    )
    assert refused.status_code == 404, "a dealership admin never reaches a super admin"
    assert (await client.get("/v1/me", headers=root_session.headers)).status_code == 200
    assert (await client.get("/v1/me", headers=session.headers)).status_code == 200
    ended = await client.post(end, headers=tenant.admin.headers)
    assert ended.status_code == 204
    assert _ended(await client.get("/v1/me", headers=session.headers))
    assert _ended(await client.get("/v1/me", headers=tenant.user.headers))
    assert (await _refresh(client, session)).status_code == 401
    again = await _sign_in(client, tenant.user.email)
    assert (await client.get("/v1/me", headers=again.headers)).status_code == 200
    assert (await client.get("/v1/me", headers=super_admin.headers)).status_code == 200
