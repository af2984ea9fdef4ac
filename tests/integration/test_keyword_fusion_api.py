"""Through a real worker and real `avataradam serve` processes on PostgreSQL: a search
for a form number finds the one passage holding it first when keyword fusion is on (the
default), and the vector ranking alone (AVATARADAM_SEARCH_KEYWORD_FUSION=false) does
not, because passages repeating the question's other words are nearer by vectors."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.conftest import Tenant, api_process, service_environment
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess

GUIDE = """# Dealer handbook

## Reporting cash

Report cash on the form. Report cash on the form the same day. Cash on the form, report it.

## Cash deals

Cash deals: report the cash on the form, and report cash on the form again.

## Federal filings

Within fifteen days of receiving more than ten thousand dollars in one transaction or in
related ones, the business office files IRS Form 8300 and keeps a copy for five years;
the customer is told in writing by January 31 of the next year. Staff who structure a
deal to stay under the threshold break federal law, so report cash honestly.
"""
QUERY = "report cash on form 8300"


async def _search(url: str, tenant: Tenant) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post(
            "/v1/search", json={"query": QUERY, "top_k": 3}, headers=tenant.user.headers
        )
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


async def test_a_form_number_finds_its_passage_first_with_keyword_fusion_only(
    client: httpx.AsyncClient,
    tenant: Tenant,
    worker: ServiceProcess,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    response = await upload(client, tenant.admin, GUIDE.encode(), f"cash-{uuid.uuid4()}.md")
    assert response.status_code == 202, response.text
    ready = await wait_for_status(client, tenant.user, response.json()["id"], {"ready", "failed"})
    assert ready["status"] == "ready", ready
    environment = service_environment(database_url, redis_url)

    with api_process(environment, tmp_path_factory.mktemp("fused")) as url:
        fused = await _search(url, tenant)
    with api_process(
        environment | {"AVATARADAM_SEARCH_KEYWORD_FUSION": "false"},
        tmp_path_factory.mktemp("vectors-only"),
    ) as url:
        plain = await _search(url, tenant)

    assert fused[0]["section"] == "Federal filings", fused
    assert "Form 8300" in str(fused[0]["text"])
    assert plain[0]["section"] != "Federal filings", plain
    # Scores stay the vectors' cosines: the same passage scores the same either way.
    cosine = {hit["chunk_id"]: hit["score"] for hit in plain}
    assert all(
        cosine[hit["chunk_id"]] == hit["score"] for hit in fused if hit["chunk_id"] in cosine
    )
