"""Uploads end to end: API -> PostgreSQL + outbox -> Redis -> a real Dramatiq worker."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from docx import Document as DocxDocument

from avataradam.entrypoints.container import Container
from tests.fixtures import corpus_pdf
from tests.integration.conftest import Account, Tenant, new_tenant, problem
from tests.support.processes import ServiceProcess


def corpus_file(name: str) -> bytes:
    return corpus_pdf(name).read_bytes()


def docx_bytes(paragraphs: list[str]) -> bytes:
    document = DocxDocument()
    document.add_heading("Handling GAP objections", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def upload(
    client: httpx.AsyncClient,
    admin: Account,
    content: bytes,
    filename: str,
    topic: str = "objection_handling",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/v1/documents",
        files={"file": (filename, content, "application/octet-stream")},
        data={"topic": topic},
        headers=admin.headers | (headers or {}),
    )


async def wait_for_status(
    client: httpx.AsyncClient,
    account: Account,
    document_id: str,
    statuses: set[str],
    timeout_s: float = 90,
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = await client.get(f"/v1/documents/{document_id}", headers=account.headers)
        if response.status_code == 404 and "gone" in statuses:
            return {"status": "gone"}
        body = response.json()
        if body.get("status") in statuses:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"document {document_id} stuck: {body}")


async def stored_counts(container: Container, tenant: Tenant, document_id: str) -> tuple[int, int]:
    async with container.uow() as uow:
        chunks = await uow.chunks.count(uuid.UUID(document_id))
    vectors = await container.knowledge.index.count(
        tenant.dealership_id, document_id=uuid.UUID(document_id)
    )
    return chunks, vectors


async def test_pdf_and_docx_are_acknowledged_then_ingested_and_searchable(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, worker: ServiceProcess
) -> None:
    pdf = await upload(client, tenant.admin, corpus_file("pdflatex-4-pages.pdf"), "guide.pdf")
    assert pdf.status_code == 202, pdf.text
    assert pdf.json()["status"] == "queued"
    assert pdf.headers["location"] == f"/v1/documents/{pdf.json()['id']}"
    docx = await upload(
        client,
        tenant.admin,
        docx_bytes(
            [
                "When the customer says GAP insurance is too expensive, compare the monthly "
                "cost with the loan balance left after a total loss.",
                "Ask which payment the customer is comfortable with before quoting.",
            ]
        ),
        "gap-objections.docx",
    )
    assert docx.status_code == 202, docx.text

    ready_pdf = await wait_for_status(client, tenant.user, pdf.json()["id"], {"ready", "failed"})
    ready_docx = await wait_for_status(client, tenant.user, docx.json()["id"], {"ready", "failed"})
    assert ready_pdf["status"] == "ready", ready_pdf
    assert ready_docx["status"] == "ready", ready_docx
    assert ready_pdf["progress"] == 1.0
    attempts = ready_pdf["attempts"]
    assert isinstance(attempts, int)
    assert attempts >= 1
    assert int(ready_pdf["chunk_count"]) > 1  # type: ignore[call-overload]

    for body in (ready_pdf, ready_docx):
        chunks, vectors = await stored_counts(container, tenant, str(body["id"]))
        assert chunks == vectors == body["chunk_count"]

    search = await client.post(
        "/v1/search",
        json={"query": "GAP insurance too expensive loan balance", "top_k": 3},
        headers=tenant.user.headers,
    )
    assert search.status_code == 200, search.text
    results = search.json()["results"]
    assert results
    assert results[0]["document_id"] == docx.json()["id"]
    assert results[0]["filename"] == "gap-objections.docx"


async def test_same_file_twice_answers_409_naming_the_existing_document(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    content = b"Menu selling: present every product on one menu.\n" * 20
    first = await upload(client, tenant.admin, content, "menu.txt", topic="playbooks")
    assert first.status_code == 202
    second = await upload(client, tenant.admin, content, "menu-copy.txt", topic="playbooks")
    assert second.status_code == 409
    body = problem(second)
    assert body["code"] == "duplicate_document"
    assert body["details"] == {"document_id": first.json()["id"]}


async def test_idempotency_key_replays_the_same_document(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    content = b"Compliance: disclose every product price before signing.\n" * 10
    first = await upload(client, tenant.admin, content, "c.txt", "compliance", headers=key)
    again = await upload(client, tenant.admin, content, "c.txt", "compliance", headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await upload(
        client, tenant.admin, b"different body entirely\n" * 5, "d.txt", "compliance", headers=key
    )
    assert other.status_code == 422
    assert problem(other)["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("content", "filename", "topic", "status", "code"),
    [
        (b"", "empty.txt", "books", 422, "invalid_input"),
        (b"", "empty.pdf", "books", 422, "invalid_input"),
        (b"  \n\t\r\n \n", "blank.txt", "books", 422, "invalid_input"),
        (b"\n\n   \n", "blank.md", "books", 422, "invalid_input"),
        (
            "\ufeff \n\u3000\u00a0\n".encode("utf-16"),
            "blank-utf16.txt",
            "books",
            422,
            "invalid_input",
        ),
        (
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" * 100,
            "setup.pdf",
            "books",
            415,
            "unsupported_file_type",
        ),
        (b"PK\x03\x04not really a docx" * 10, "fake.docx", "books", 415, "unsupported_file_type"),
        (b"valid text\n", "notes.txt", "astrology", 400, "invalid_request"),
    ],
)
async def test_bad_uploads_get_a_4xx_and_store_nothing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    content: bytes,
    filename: str,
    topic: str,
    status: int,
    code: str,
) -> None:
    response = await upload(client, tenant.admin, content, filename, topic)
    assert response.status_code == status, response.text
    assert problem(response)["code"] == code
    listed = await client.get("/v1/documents", headers=tenant.admin.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize("missing", ["file", "topic"])
async def test_an_upload_without_a_field_names_that_field(
    client: httpx.AsyncClient, tenant: Tenant, missing: str
) -> None:
    files = {} if missing == "file" else {"file": ("notes.txt", b"some text\n", "text/plain")}
    data = {} if missing == "topic" else {"topic": "books"}
    if not files:  # a multipart body without its file part
        files = {"note": ("note.txt", b"x", "text/plain")}
    response = await client.post(
        "/v1/documents", files=files, data=data, headers=tenant.admin.headers
    )
    assert response.status_code in {400, 422}, response.text
    body = problem(response)
    assert [error["field"] for error in body["errors"]] == [missing], body  # type: ignore[attr-defined]
    listed = await client.get("/v1/documents", headers=tenant.admin.headers)
    assert listed.json()["items"] == []


async def test_a_plain_user_cannot_upload(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await upload(client, tenant.user, b"hello there\n", "x.txt")
    assert response.status_code == 403


async def test_encrypted_and_corrupt_pdfs_fail_with_specific_codes(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    encrypted = await upload(
        client, tenant.admin, corpus_file("libreoffice-writer-password.pdf"), "locked.pdf"
    )
    corrupt = await upload(
        client, tenant.admin, b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\ngarbage", "broken.pdf"
    )
    assert encrypted.status_code == corrupt.status_code == 202
    failed = await wait_for_status(
        client, tenant.admin, encrypted.json()["id"], {"failed", "ready"}
    )
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "encrypted_pdf"  # type: ignore[index]
    broken = await wait_for_status(client, tenant.admin, corrupt.json()["id"], {"failed", "ready"})
    assert broken["status"] == "failed"
    assert broken["error"]["code"] in {"corrupt_file", "empty_text"}  # type: ignore[index]
    chunks_enc = await client.get(
        f"/v1/documents/{encrypted.json()['id']}", headers=tenant.admin.headers
    )
    assert chunks_enc.json()["chunk_count"] == 0


async def test_retry_reruns_a_failed_document_and_refuses_a_ready_one(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    encrypted = await upload(
        client, tenant.admin, corpus_file("libreoffice-writer-password.pdf"), "again.pdf"
    )
    document_id = encrypted.json()["id"]
    await wait_for_status(client, tenant.admin, document_id, {"failed"})
    retried = await client.post(f"/v1/documents/{document_id}/retry", headers=tenant.admin.headers)
    assert retried.status_code == 202
    assert retried.json()["status"] == "queued"
    failed_again = await wait_for_status(client, tenant.admin, document_id, {"failed"})
    assert failed_again["attempts"] == 2
    good = await upload(client, tenant.admin, b"Warranty basics and coverage.\n" * 5, "w.txt")
    await wait_for_status(client, tenant.admin, good.json()["id"], {"ready"})
    refused = await client.post(
        f"/v1/documents/{good.json()['id']}/retry", headers=tenant.admin.headers
    )
    assert refused.status_code == 409


async def test_delete_removes_vectors_chunks_and_search_results(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, worker: ServiceProcess
) -> None:
    text = b"Tire and wheel protection covers road hazard damage to rims.\n" * 8
    created = await upload(client, tenant.admin, text, "tires.txt", "product_knowledge")
    document_id = created.json()["id"]
    await wait_for_status(client, tenant.admin, document_id, {"ready"})
    query = {"query": "road hazard damage to rims", "top_k": 3}
    before = await client.post("/v1/search", json=query, headers=tenant.user.headers)
    assert any(r["document_id"] == document_id for r in before.json()["results"])

    deleted = await client.delete(f"/v1/documents/{document_id}", headers=tenant.admin.headers)
    assert deleted.status_code == 202
    assert deleted.json()["status"] == "deleting"
    await wait_for_status(client, tenant.admin, document_id, {"gone"})
    assert await stored_counts(container, tenant, document_id) == (0, 0)
    after = await client.post("/v1/search", json=query, headers=tenant.user.headers)
    assert all(r["document_id"] != document_id for r in after.json()["results"])


async def test_documents_of_another_dealership_answer_404(
    client: httpx.AsyncClient, tenant: Tenant, super_admin: Account, worker: ServiceProcess
) -> None:
    other = await new_tenant(client, super_admin)
    created = await upload(client, other.admin, b"Secret playbook of the other store.\n", "s.txt")
    document_id = created.json()["id"]
    for method, path in [
        ("GET", f"/v1/documents/{document_id}"),
        ("DELETE", f"/v1/documents/{document_id}"),
        ("POST", f"/v1/documents/{document_id}/retry"),
    ]:
        response = await client.request(method, path, headers=tenant.admin.headers)
        assert response.status_code == 404, (method, path, response.text)
