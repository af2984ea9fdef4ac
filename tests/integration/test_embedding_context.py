"""Through the API and a real worker: passages are embedded with their document's title
and section, while search returns and cites their own text (issue 16)."""

from __future__ import annotations

import uuid

import httpx

from avataradam.entrypoints.container import Container
from tests.integration.conftest import Tenant
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess

GUIDE = (
    "# GAP waiver basics\n\nGAP covers the gap between the loan and the car's value.\n\n"
    "## Claims\n\nIt pays the loan balance after a total loss, less the deductible.\n"
)


async def test_the_worker_embeds_title_and_section_and_search_returns_the_passage_alone(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, worker: ServiceProcess
) -> None:
    response = await upload(client, tenant.admin, GUIDE.encode(), f"gap-{uuid.uuid4()}.md")
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    ready = await wait_for_status(client, tenant.user, document_id, {"ready", "failed"})
    assert ready["status"] == "ready", ready

    search = await client.post(
        "/v1/search",
        json={"query": "who pays after a total loss", "top_k": 5},
        headers=tenant.user.headers,
    )

    assert search.status_code == 200, search.text
    claims = [hit for hit in search.json()["results"] if hit["section"] == "Claims"]
    assert [hit["text"] for hit in claims] == [
        "## Claims\n\nIt pays the loan balance after a total loss, less the deductible."
    ]
    passage = claims[0]["text"]
    [with_context, alone] = await container.knowledge.embedder.embed(
        [f"Title: GAP waiver basics\nSection: Claims\n\n{passage}", passage]
    )
    index = container.knowledge.index
    [nearest] = await index.query(tenant.dealership_id, with_context, top_k=1)
    [nearest_alone] = await index.query(tenant.dealership_id, alone, top_k=1)
    assert nearest.id == claims[0]["chunk_id"]
    assert nearest.score > 0.999  # the stored vector is the one of the prefixed text
    assert nearest_alone.score < 0.99  # not the one of the passage alone
