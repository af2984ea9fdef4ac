"""Hostile uploads: bombs, polyglots, traversal names, oversize and trickled bodies.

What a file is gets decided by its bytes; what is refused at the door stores no row;
what only the worker can judge (bombs, polyglots) fails with a reason and leaves no
chunk and no vector behind.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from avataradam.entrypoints.container import Container
from ops.harness.processes import free_port, wait_until_healthy
from tests.fixtures.hostile import docx_zip_bomb, pdf_flate_bomb, text_pdf, write_docx
from tests.integration.conftest import Account, Tenant, problem, service_environment
from tests.integration.security.conftest import deployment
from tests.support.processes import ServiceProcess

MAX_UPLOAD_BYTES = 64 * 1024
BODY_TIMEOUT_S = 2


async def upload(
    client: httpx.AsyncClient, admin: Account, content: bytes, filename: str
) -> httpx.Response:
    return await client.post(
        "/v1/documents",
        files={"file": (filename, content, "application/octet-stream")},
        data={"topic": "books"},
        headers=admin.headers,
    )


async def settled(client: httpx.AsyncClient, admin: Account, document_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, object] = (
            await client.get(f"/v1/documents/{document_id}", headers=admin.headers)
        ).json()
        if body["status"] in {"ready", "failed"}:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"document {document_id} never settled")


async def assert_nothing_ingested(
    container: Container, tenant: Tenant, document: dict[str, object]
) -> None:
    document_id = uuid.UUID(str(document["id"]))
    async with container.uow() as uow:
        assert await uow.chunks.count(document_id) == 0
    assert await container.knowledge.index.count(tenant.dealership_id, document_id=document_id) == 0
    assert document["chunk_count"] == 0


async def listed(client: httpx.AsyncClient, admin: Account) -> list[dict[str, object]]:
    items: list[dict[str, object]] = (
        await client.get("/v1/documents", headers=admin.headers)
    ).json()["items"]
    return items


async def test_pdf_decompression_bomb_fails_as_too_large_and_stores_no_text(
    client: httpx.AsyncClient, tenant: Tenant, container: Container, worker: ServiceProcess
) -> None:
    bomb = pdf_flate_bomb(inflated_mib=100)
    assert len(bomb) < 1024 * 1024

    accepted = await upload(client, tenant.admin, bomb, "bomb.pdf")

    assert accepted.status_code == 202, accepted.text
    document = await settled(client, tenant.admin, accepted.json()["id"])
    assert document["status"] == "failed"
    assert document["error"]["code"] == "too_large"  # type: ignore[index]
    await assert_nothing_ingested(container, tenant, document)


async def test_zip_bomb_docx_fails_as_too_large_and_stores_no_text(
    client: httpx.AsyncClient,
    tenant: Tenant,
    container: Container,
    worker: ServiceProcess,
    tmp_path: Path,
) -> None:
    source = write_docx(tmp_path / "playbook.docx", [("Heading 1", "GAP"), ("", "Covers.")])
    bomb = docx_zip_bomb(source, tmp_path / "bomb.docx", inflated_mib=64)

    accepted = await upload(client, tenant.admin, bomb.read_bytes(), "bomb.docx")

    assert accepted.status_code == 202, accepted.text
    document = await settled(client, tenant.admin, accepted.json()["id"])
    assert document["status"] == "failed"
    assert document["error"]["code"] == "too_large"  # type: ignore[index]
    await assert_nothing_ingested(container, tenant, document)


async def test_pdf_html_zip_polyglot_is_judged_by_its_head_and_never_becomes_html(
    client: httpx.AsyncClient,
    tenant: Tenant,
    container: Container,
    worker: ServiceProcess,
    tmp_path: Path,
) -> None:
    docx = write_docx(tmp_path / "inner.docx", [("", "Hidden document body.")])
    polyglot = (
        b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n"
        + docx.read_bytes()
    )

    accepted = await upload(client, tenant.admin, polyglot, "invoice.html")

    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["content_type"] == "application/pdf"
    document = await settled(client, tenant.admin, accepted.json()["id"])
    assert document["status"] == "failed"
    assert document["error"]["code"] in {"corrupt_file", "empty_text"}  # type: ignore[index]
    await assert_nothing_ingested(container, tenant, document)


async def test_zip_that_only_pretends_to_be_docx_is_refused_with_415(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    fake = b"PK\x03\x04" + b"word/document.xml [Content_Types].xml" + b"<html></html>" * 20

    refused = await upload(client, tenant.admin, fake, "report.docx")

    assert refused.status_code == 415
    assert problem(refused)["code"] == "unsupported_file_type"
    assert await listed(client, tenant.admin) == []


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\system32\\evil.txt", "evil.txt"),
        ("/var/lib/avataradam/blobs/x.txt", "x.txt"),
        ("....", "upload"),
    ],
)
async def test_path_traversal_in_the_filename_is_reduced_to_a_plain_name(
    client: httpx.AsyncClient, tenant: Tenant, filename: str, stored: str
) -> None:
    content = f"Plain notes about {uuid.uuid4()}.\n".encode() * 3

    accepted = await upload(client, tenant.admin, content, filename)

    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["filename"] == stored
    for forbidden in ("/", "\\", "\x00", ".."):
        assert forbidden not in accepted.json()["filename"]


@pytest.fixture
async def small_upload_client(
    database_url: str, redis_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a deployment whose upload limit is lowered to 64 KiB."""
    limit = {"AVATARADAM_INGESTION_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES)}
    async with deployment(database_url, redis_url, limit) as http:
        yield http


@pytest.mark.parametrize(
    "size", [MAX_UPLOAD_BYTES + 1, MAX_UPLOAD_BYTES + 2 * 1024 * 1024], ids=["file", "body"]
)
async def test_oversize_upload_answers_413_and_stores_nothing(
    small_upload_client: httpx.AsyncClient, tenant: Tenant, size: int
) -> None:
    content = b"A line of perfectly ordinary text.\n" * (size // 35 + 1)

    refused = await upload(small_upload_client, tenant.admin, content[:size], "big.txt")

    assert refused.status_code == 413, refused.text
    assert problem(refused)["code"] in {"file_too_large", "payload_too_large"}
    assert await listed(small_upload_client, tenant.admin) == []
    fits = await upload(small_upload_client, tenant.admin, content[:1000], "small.txt")
    assert fits.status_code == 202


async def test_a_trainees_oversize_or_unsupported_upload_answers_403_not_413_or_415(
    small_upload_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    oversize = (b"A line of perfectly ordinary text.\n" * (MAX_UPLOAD_BYTES // 35 + 1))[
        : MAX_UPLOAD_BYTES + 1
    ]
    fake_docx = b"PK\x03\x04" + b"word/document.xml [Content_Types].xml" + b"<html></html>" * 20

    for content, filename in [(oversize, "big.txt"), (fake_docx, "report.docx")]:
        refused = await upload(small_upload_client, tenant.user, content, filename)

        assert refused.status_code == 403, refused.text
        assert problem(refused)["code"] == "permission_denied"
    assert await listed(small_upload_client, tenant.admin) == []


@pytest.fixture(scope="module")
def impatient_server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real server (uvicorn) whose request bodies must arrive within 2 s."""
    port = free_port()
    env = service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    process = ServiceProcess(["serve"], env, tmp_path_factory.mktemp("loris") / "api.log")
    process.start()
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


def _trickle_upload(address: str, token: str, seconds: float) -> tuple[bytes, float]:
    """Sends an upload's headers, then one byte of its body every 0.2 s."""
    host, port = address.split(":")
    boundary = "loris"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="topic"\r\n\r\nbooks\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"'
        "\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    request = (
        f"POST /v1/documents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 100_000}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = b""
    with socket.create_connection((host, int(port)), timeout=0.2) as sock:
        sock.sendall(request + head)
        while time.monotonic() - started < seconds:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                sock.sendall(b"x")
                continue
            if not chunk:
                return answer, time.monotonic() - started
            answer += chunk
    return answer, time.monotonic() - started


async def test_slow_loris_body_is_cut_off_with_408_and_stores_nothing(
    impatient_server: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer, closed_after_s = await asyncio.to_thread(
        _trickle_upload, impatient_server, tenant.admin.token, 10 * BODY_TIMEOUT_S
    )

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    assert BODY_TIMEOUT_S <= closed_after_s < 3 * BODY_TIMEOUT_S
    assert await listed(client, tenant.admin) == []


async def test_a_body_sent_at_once_is_unaffected_by_the_deadline(
    impatient_server: str, tenant: Tenant
) -> None:
    async with httpx.AsyncClient(base_url=f"http://{impatient_server}") as http:
        response = await upload(http, tenant.admin, text_pdf("Quick upload"), "quick.pdf")
    assert response.status_code == 202, response.text
