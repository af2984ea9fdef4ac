"""Spanish end to end through a real `avataradam serve` process and a real Dramatiq
worker on PostgreSQL and Redis: a Spanish Markdown policy is uploaded, ingested by the
worker, found by a Spanish search, quoted and cited by a Spanish training answer; a
roleplay customer speaks Spanish. The extractive model and the hashing embedder: no
model download."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from avataradam.adapters.llm.sentences import language_of
from avataradam.domain.personas import PERSONAS
from avataradam.entrypoints.container import Container
from tests.integration.conftest import Tenant, api_process, problem, service_environment
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess

CANCELLATION = (
    "El cliente puede cancelar el GAP en cualquier momento y recibe un reembolso "
    "proporcional de la prima no usada, menos un cargo de $50."
)
NEVER_REQUIRED = (
    "Nunca diga al cliente que el GAP es obligatorio para que el banco apruebe el préstamo."
)
POLICY = f"""# Póliza de protección GAP

## Qué cubre

El seguro GAP cubre la diferencia entre lo que paga la aseguradora del cliente y lo que
todavía se debe del préstamo cuando el vehículo queda como pérdida total o es robado y
no se recupera. Según el art. 4 del contrato, el límite de la cobertura es del 150 % del
valor de venta (MSRP) y el deducible del seguro principal se cubre hasta $1,000. La
Dra. Ramírez, directora de cumplimiento, revisa cada reclamo en un plazo de 30 días.

## Quién puede comprarlo

Lo puede comprar cualquier cliente que financie o arriende un vehículo con el
concesionario. El precio del producto es de $895, es decir 895,00 dólares, y se suma al
monto financiado. ¿Le conviene al cliente? Depende del enganche y del plazo del préstamo.

## Cumplimiento

{NEVER_REQUIRED} El Sr. Gómez, gerente de F&I, presenta el GAP como un producto
opcional en el menú, con su precio y el pago mensual con y sin el producto. ¡Nunca
esconda el precio dentro del pago!

## Cancelación

{CANCELLATION} La solicitud se hace por escrito al departamento de F&I y el reembolso
se envía al prestamista en un plazo de 45 días.
"""


@pytest.fixture(scope="module")
def server(
    database_url: str,
    redis_url: str,
    worker: ServiceProcess,  # the real worker ingests the uploads
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    env = service_environment(database_url, redis_url) | {"AVATARADAM_CHAT_MODEL": "extractive"}
    with api_process(env, tmp_path_factory.mktemp("spanish")) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        yield client


def _flat(text: str) -> str:
    return " ".join(text.split())


async def test_a_spanish_policy_is_found_quoted_and_cited_in_spanish(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    uploaded = await upload(
        http, tenant.admin, POLICY.encode(), f"poliza-gap-{uuid.uuid4().hex[:6]}.md", "compliance"
    )
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["id"]
    ready = await wait_for_status(http, tenant.user, document_id, {"ready", "failed"})
    assert ready["status"] == "ready", ready
    count = ready["chunk_count"]
    assert isinstance(count, int)
    assert count > 1, "the policy spans several chunks, so the cited one is a real choice"
    async with container.uow(read_only=True) as uow:
        chunks = await uow.chunks.get_many(
            [f"{document_id}:{i}" for i in range(count)],
            dealership_id=uuid.UUID(tenant.dealership_id),
        )
    holding = [c.id for c in chunks if NEVER_REQUIRED in _flat(c.text)]
    assert len(holding) == 1, [c.text for c in chunks]

    search = await http.post(
        "/v1/search",
        json={"query": "¿El GAP es obligatorio para que aprueben el préstamo?", "top_k": 3},
        headers=tenant.user.headers,
    )
    assert search.status_code == 200, search.text
    first = search.json()["results"][0]
    assert (first["document_id"], first["chunk_id"]) == (document_id, holding[0])

    created = await http.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    assert created.status_code == 201, created.text
    reply = await http.post(
        f"/v1/conversations/{created.json()['id']}/messages",
        json={"content": "¿Puedo decirle al cliente que el GAP es obligatorio para el préstamo?"},
        headers=tenant.user.headers,
    )

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert f"{NEVER_REQUIRED} [1]" in body["content"].splitlines(), body["content"]
    assert body["content"].startswith("Esto es lo que dice el material de su concesionario:")
    source = body["sources"][0]
    assert (source["document_id"], source["chunk_id"]) == (document_id, holding[0])
    assert source["filename"].startswith("poliza-gap-")
    cited_text = {c.id: _flat(c.text) for c in chunks}
    for line in body["content"].splitlines()[1:]:
        quote, _, marker = line.rpartition(" [")
        number = int(marker.rstrip("]"))
        assert quote in cited_text[body["sources"][number - 1]["chunk_id"]], line
        assert language_of(quote) == "es", quote
    assert body["grounded"] is True


async def test_a_roleplay_customer_speaks_the_conversations_language(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await http.post(
        "/v1/conversations",
        json={"mode": "roleplay", "scenario": "payment_focused", "language": "es"},
        headers=tenant.user.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["language"] == "es"
    conversation_id = created.json()["id"]

    lines = []
    for said in ("Buenas tardes, soy el gerente de F&I.", "Le presento el menú de productos."):
        reply = await http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": said},
            headers=tenant.user.headers,
        )
        assert reply.status_code == 201, reply.text
        lines.append(reply.json()["content"])

    scenarios = await http.get("/v1/conversations/scenarios", headers=tenant.user.headers)
    assert all(s["languages"] == ["en", "es"] for s in scenarios.json()), scenarios.text
    spanish = PERSONAS["payment_focused"].lines("es")
    assert lines[0] == spanish.opening_lines[0]
    assert all(language_of(line) == "es" for line in lines), lines
    detail = await http.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
    assert detail.json()["language"] == "es"
    default = await http.post(
        "/v1/conversations", json={"mode": "roleplay"}, headers=tenant.user.headers
    )
    assert default.json()["language"] == "en"


async def test_an_unknown_language_is_refused_naming_the_valid_ones(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    refused = await http.post(
        "/v1/conversations",
        json={"mode": "roleplay", "language": "fr"},
        headers=tenant.user.headers,
    )

    assert refused.status_code == 422, refused.text
    body = problem(refused)
    assert body["code"] == "invalid_input"
    assert '"en", "es"' in str(body["detail"])
    listed = await http.get("/v1/conversations", headers=tenant.user.headers)
    assert all(c["language"] in ("en", "es") for c in listed.json()["items"])
