"""Issue 12's failing inputs, and other members of their kinds, through the real service.

Each file is uploaded through the API, ingested by a real Dramatiq worker (hashing
embedder) and checked the way a user would: the marker is found by `/v1/search` in the
text of a passage of that document, or the document fails with the expected code.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import httpx
import pytest

from tests.fixtures import case_file
from tests.fixtures.wordml import paragraph, wordml_docx
from tests.integration.conftest import Tenant, problem
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess

CP1252_TEXT = (
    "Café résumé “smart quotes” \u2013 GAP coverage explained. Marker FALCON-1252-3307 naïve."
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}")


async def _ingested(
    client: httpx.AsyncClient, tenant: Tenant, content: bytes, filename: str
) -> dict[str, object]:
    response = await upload(client, tenant.admin, content, filename, topic="product_knowledge")
    assert response.status_code == 202, response.text
    return await wait_for_status(client, tenant.user, response.json()["id"], {"ready", "failed"})


async def _passages(
    client: httpx.AsyncClient, tenant: Tenant, query: str, top_k: int = 10
) -> list[dict[str, object]]:
    response = await client.post(
        "/v1/search", json={"query": query, "top_k": top_k}, headers=tenant.user.headers
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


async def _assert_found(
    client: httpx.AsyncClient, tenant: Tenant, document: dict[str, object], marker: str
) -> None:
    results = await _passages(client, tenant, marker)
    found = [r for r in results if marker in str(r["text"])]
    assert found, (marker, results)
    assert {r["document_id"] for r in found} == {document["id"]}


async def _assert_absent(client: httpx.AsyncClient, tenant: Tenant, words: str) -> None:
    results = await _passages(client, tenant, words, top_k=50)
    assert all(words not in str(r["text"]) for r in results)


@pytest.mark.parametrize(
    ("name", "markers", "absent"),
    [
        ("01-content-control.docx", ["QUOKKA-SDT-7731"], []),
        ("02-tracked-insertion.docx", ["KIWI-INS-4410"], ["DELETED-WORDS-0000"]),
        ("03-text-box.docx", ["TAPIR-TXBX-5521"], []),
        ("04-nested-table.docx", ["OTTER-TBL-3310", "LYNX-NEST-9902"], []),
        ("06b-owner-only-aes256.pdf", ["GANNET-AES-2208"], []),
        ("06c-owner-only-aes128.pdf", ["GANNET-AES-2209"], []),
    ],
)
async def test_each_case_file_is_ready_and_its_marker_searchable(
    client: httpx.AsyncClient,
    tenant: Tenant,
    worker: ServiceProcess,
    name: str,
    markers: list[str],
    absent: list[str],
) -> None:
    document = await _ingested(client, tenant, case_file(name).read_bytes(), name)

    assert document["status"] == "ready", document
    for marker in markers:
        await _assert_found(client, tenant, document, marker)
    for words in absent:
        await _assert_absent(client, tenant, words)


async def test_a_pdf_with_an_opening_password_fails_as_encrypted(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    name = "06e-user-password-aes256.pdf"
    document = await _ingested(client, tenant, case_file(name).read_bytes(), name)

    assert document["status"] == "failed"
    assert document["error"]["code"] == "encrypted_pdf"  # type: ignore[index]
    assert document["chunk_count"] == 0


async def test_cp1252_text_is_stored_exactly(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    name = "08c-cp1252.txt"
    document = await _ingested(client, tenant, case_file(name).read_bytes(), name)

    assert document["status"] == "ready", document
    [passage] = await _passages(client, tenant, "Café résumé naïve smart quotes")
    assert passage["text"] == CP1252_TEXT
    assert passage["document_id"] == document["id"]


async def test_an_inline_base64_image_is_no_passage_and_the_prose_ranks_first(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    name = "10b-data-uri.md"
    document = await _ingested(client, tenant, case_file(name).read_bytes(), name)

    assert document["status"] == "ready", document
    results = await _passages(client, tenant, "road hazard coverage pays for tires", top_k=50)
    assert "Road hazard coverage pays for tires." in str(results[0]["text"])
    assert len(results) == document["chunk_count"]
    assert not [r for r in results if _BASE64_RUN.search(str(r["text"]))]
    assert document["warnings"] == [
        "1 image without text skipped",
        "1 embedded data payload (data URI, base64, hex or key) stripped",
    ]
    await _assert_found(client, tenant, document, "WALRUS-B64-4472")


async def test_front_matter_names_the_document_and_is_no_passage(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    name = "11-front-matter.md"
    document = await _ingested(client, tenant, case_file(name).read_bytes(), name)

    assert document["status"] == "ready", document
    assert document["title"] == "Menu selling basics"
    assert document["warnings"] == []
    await _assert_found(client, tenant, document, "ORCA-MD-8123")
    for metadata in ("FM-META-0042", "internal_id", "training team"):
        await _assert_absent(client, tenant, metadata)
    listed = await client.get("/v1/documents", headers=tenant.user.headers)
    assert [item["title"] for item in listed.json()["items"]] == ["Menu selling basics"]


async def test_bom_less_utf16_and_spanish_cp1252_markdown_are_decoded(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    utf16 = "Garantía de neumáticos. Marker HERON-U16-5120 for the UTF-16 copy.\r\n"
    spanish = "---\ntitle: Cobertura\n---\n# Cobertura\n\n¿Qué cubre? ¡Todo! Marker IBIS-ES-7741.\n"

    first = await _ingested(client, tenant, utf16.encode("utf-16-le"), "utf16.txt")
    second = await _ingested(client, tenant, spanish.encode("cp1252"), "cobertura.md")

    assert first["status"] == second["status"] == "ready"
    assert second["title"] == "Cobertura"
    [passage] = await _passages(client, tenant, "IBIS-ES-7741", top_k=1)
    assert passage["text"] == "# Cobertura\n\n¿Qué cubre? ¡Todo! Marker IBIS-ES-7741."
    await _assert_found(client, tenant, first, "HERON-U16-5120")


async def test_word_headers_footnotes_and_field_results_are_searchable(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess, tmp_path: Path
) -> None:
    body = (
        paragraph("Finance office rate policy.")
        + '<w:p><w:fldSimple w:instr=" DOCPROPERTY Cap "><w:r><w:t>Cap is HERON-FLD-3301'
        '</w:t></w:r></w:fldSimple><w:r><w:footnoteReference w:id="1"/></w:r></w:p>'
    )
    path = wordml_docx(
        tmp_path / "policy.docx",
        body,
        headers=[paragraph("Dealer group header EGRET-HDR-4402")] * 2,
        footnotes=f'<w:footnote w:id="1">{paragraph("Footnote says PLOVER-FN-5503")}</w:footnote>',
    )

    document = await _ingested(client, tenant, path.read_bytes(), "policy.docx")

    assert document["status"] == "ready", document
    for marker in ("HERON-FLD-3301", "EGRET-HDR-4402", "PLOVER-FN-5503"):
        await _assert_found(client, tenant, document, marker)


async def test_text_whose_encoding_cannot_be_told_is_refused_at_upload(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    noise = random.Random(0).randbytes(3000)  # noqa: S311 - reproducible, not a secret
    undecodable = bytes(byte for byte in noise if byte >= 0x20 and byte != 0x7F)

    response = await upload(client, tenant.admin, undecodable, "notes.txt")

    assert response.status_code == 415, response.text
    body = problem(response)
    assert body["code"] == "undecodable_text"
    assert "UTF-8" in str(body["detail"])
    listed = await client.get("/v1/documents", headers=tenant.admin.headers)
    assert listed.json()["items"] == []
