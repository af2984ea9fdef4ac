"""Re-embedding a dealership's knowledge base over the HTTP API: start (202 + Location),
follow, and every refusal. No worker runs here: a started re-embedding stays `running`."""

from __future__ import annotations

import uuid

import httpx

from avataradam.entrypoints.container import Container
from tests.integration.conftest import Account, Tenant, problem


def reembeddings(dealership_id: str) -> str:
    return f"/v1/admin/dealerships/{dealership_id}/reembeddings"


def other_profile(container: Container) -> str:
    """A valid profile other than the configured one (the one a new dealership reads)."""
    embedder, _, context = container.knowledge.profiles.configured.partition(":")
    return f"{embedder}:{'none' if context != 'none' else 'title_section'}"


async def test_start_answers_202_with_the_running_reembedding_and_where_to_follow_it(
    client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    target = other_profile(container)
    started = await client.post(
        reembeddings(tenant.dealership_id), json={"profile": target}, headers=tenant.admin.headers
    )

    assert started.status_code == 202, started.text
    body = started.json()
    assert body["status"] == "running"
    assert body["target_profile"] == target
    assert body["source_profile"] == container.knowledge.profiles.configured
    assert body["generation"] == 1
    assert (body["documents_done"], body["chunks_done"], body["progress"]) == (0, 0, 0.0)
    assert body["finished_at"] is None
    assert body["error_message"] is None
    location = started.headers["location"]
    assert location == f"{reembeddings(tenant.dealership_id)}/1"

    followed = await client.get(location, headers=tenant.admin.headers)
    assert followed.status_code == 200
    assert followed.json() == body


async def test_a_second_start_while_one_runs_is_409_naming_the_running_generation(
    client: httpx.AsyncClient, container: Container, super_admin: Account, tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    target = other_profile(container)
    first = await client.post(url, json={"profile": target}, headers=super_admin.headers)
    assert first.status_code == 202, first.text

    second = await client.post(url, json={"profile": target}, headers=tenant.admin.headers)

    assert second.status_code == 409
    body = problem(second)
    assert body["code"] == "reembedding_running"
    assert body["details"] == {"generation": first.json()["generation"]}


async def test_an_unknown_profile_is_422_naming_the_valid_ones(
    client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    response = await client.post(
        reembeddings(tenant.dealership_id),
        json={"profile": "word2vec:title_section"},
        headers=tenant.admin.headers,
    )

    assert response.status_code == 422
    body = problem(response)
    assert body["errors"][0]["field"] == "profile"  # type: ignore[index]
    assert "word2vec:title_section" in str(body["detail"])
    for valid in ("local:title_section", "e5:none", other_profile(container)):
        assert valid in str(body["detail"])
    listed = await client.get(reembeddings(tenant.dealership_id), headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_the_profile_search_reads_already_is_422_and_so_is_the_default_then(
    client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    configured = container.knowledge.profiles.configured
    url = reembeddings(tenant.dealership_id)
    named = await client.post(url, json={"profile": configured}, headers=tenant.admin.headers)
    default = await client.post(url, json={}, headers=tenant.admin.headers)

    for response in (named, default):
        assert response.status_code == 422, response.text
        body = problem(response)
        assert configured in str(body["detail"])
        assert body["errors"][0]["field"] == "profile"  # type: ignore[index]


async def test_an_unknown_dealership_is_404_everywhere(
    client: httpx.AsyncClient, super_admin: Account
) -> None:
    url = reembeddings(str(uuid.uuid4()))
    responses = [
        await client.post(url, json={"profile": "hashing:none"}, headers=super_admin.headers),
        await client.get(url, headers=super_admin.headers),
        await client.get(f"{url}/1", headers=super_admin.headers),
    ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "not_found"


async def test_a_plain_user_is_403_and_another_dealerships_admin_404(
    client: httpx.AsyncClient, container: Container, tenant: Tenant, other_tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    body = {"profile": other_profile(container)}
    for account, status in ((tenant.user, 403), (other_tenant.admin, 404)):
        started = await client.post(url, json=body, headers=account.headers)
        listed = await client.get(url, headers=account.headers)
        for response in (started, listed):
            assert response.status_code == status, response.text
            assert problem(response)["code"] == (
                "permission_denied" if status == 403 else "not_found"
            )
    listed = await client.get(url, headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_list_shows_the_active_vectors_and_the_reembeddings_then_get_one(
    client: httpx.AsyncClient, container: Container, super_admin: Account, tenant: Tenant
) -> None:
    url = reembeddings(tenant.dealership_id)
    before = await client.get(url, headers=super_admin.headers)
    assert before.status_code == 200
    configured = container.knowledge.profiles.configured
    assert before.json() == {"active": {"generation": 0, "profile": configured}, "items": []}

    started = await client.post(
        url, json={"profile": other_profile(container)}, headers=super_admin.headers
    )
    assert started.status_code == 202

    after = await client.get(url, headers=tenant.admin.headers)
    assert after.json() == {
        "active": {"generation": 0, "profile": configured},
        "items": [started.json()],
    }
    one = await client.get(f"{url}/{started.json()['generation']}", headers=super_admin.headers)
    assert one.json() == started.json()
    for generation in ("7", "-1", "0", str(2**31), str(2**70)):
        missing = await client.get(f"{url}/{generation}", headers=super_admin.headers)
        assert missing.status_code == 404, (generation, missing.text)
        assert problem(missing)["code"] == "not_found"


async def test_unknown_fields_of_the_body_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        reembeddings(tenant.dealership_id),
        json={"profile": "hashing:none", "model": "x"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 400
    assert problem(response)["code"] == "invalid_request"
