"""`GET /v1/rubrics[/{rubric}]`: the versioned rubrics sessions are scored against,
readable by any signed-in user, the built-in F&I office rubric among them."""

from __future__ import annotations

import httpx

from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from tests.integration.conftest import Tenant, problem


async def test_the_list_holds_the_latest_fi_office_rubric_with_its_checks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/rubrics", headers=tenant.user.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    [rubric] = [r for r in body["items"] if r["id"] == FI_OFFICE_RUBRIC_ID]
    latest = BUILT_IN_RUBRICS.latest(FI_OFFICE_RUBRIC_ID)
    assert (rubric["version"], rubric["versions"]) == (
        latest.version,
        BUILT_IN_RUBRICS.versions(FI_OFFICE_RUBRIC_ID),
    )
    assert [c["id"] for c in rubric["criteria"]] == [c.id for c in latest.criteria]
    blockers = [c for c in rubric["criteria"] if c["blocker"]]
    assert len(blockers) == 4  # optional/credit, payment packing, coverage, urgency
    assert all(c["weight"] == 0 for c in blockers)
    assert all(
        c["checks"] and all(k["description"] for k in c["checks"]) for c in rubric["criteria"]
    )


async def test_one_rubric_by_id_and_version(client: httpx.AsyncClient, tenant: Tenant) -> None:
    latest = await client.get(f"/v1/rubrics/{FI_OFFICE_RUBRIC_ID}", headers=tenant.user.headers)
    first = await client.get(
        f"/v1/rubrics/{FI_OFFICE_RUBRIC_ID}?version=1", headers=tenant.admin.headers
    )

    assert latest.status_code == first.status_code == 200
    assert first.json()["version"] == 1
    assert latest.json()["version"] == BUILT_IN_RUBRICS.latest(FI_OFFICE_RUBRIC_ID).version


async def test_unknown_rubrics_and_versions_are_404_and_a_bad_version_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.user.headers
    unknown = await client.get("/v1/rubrics/no-such-rubric", headers=headers)
    no_version = await client.get(f"/v1/rubrics/{FI_OFFICE_RUBRIC_ID}?version=99", headers=headers)
    bad = await client.get(f"/v1/rubrics/{FI_OFFICE_RUBRIC_ID}?version=0", headers=headers)
    anonymous = await client.get("/v1/rubrics")

    assert (unknown.status_code, no_version.status_code, bad.status_code) == (404, 404, 400)
    assert problem(unknown)["code"] == problem(no_version)["code"] == "not_found"
    assert anonymous.status_code == 401
