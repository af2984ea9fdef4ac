"""Uploads kept in an S3-compatible bucket, end to end: the API stores the file in the
bucket (a multipart upload when it is over the part size) and only then commits the
document and its outbox entry, a real worker process reads it back from the bucket to
ingest it, search finds it, and deleting it removes the object. With the S3 server
stopped an upload answers 503 and leaves no document and no queued task behind.

The deployment has a database and a Redis of its own (the session's worker keeps its
blobs in PostgreSQL and must not take these messages) and a bucket on the session's
moto server (tests/support/s3.py), a real S3 protocol server process.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from ops.harness.environment import FAST_RECONCILE
from ops.harness.services import FreshDatabase, PrivateRedis, PrivateS3
from tests.conftest import ADMIN_DSN, IN_CI, require_service
from tests.fixtures.hostile import text_pdf
from tests.integration.conftest import (
    PASSWORD,
    Tenant,
    new_tenant,
    problem,
    service_environment,
    sign_in,
)
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.asgi import asgi_transport
from tests.support.processes import ServiceProcess
from tests.support.s3_objects import new_bucket, object_etag, object_keys
from tests.support.secrets import register_secret

MIB = 1024 * 1024
PART = 5 * MIB


@dataclass(frozen=True)
class S3Deployment:
    env: dict[str, str]
    bucket: str
    database_url: str
    client: httpx.AsyncClient
    tenant: Tenant


@pytest.fixture(scope="module")
def s3_env(
    s3_server: PrivateS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], str]]:
    """A fresh database, a private Redis and a bucket, with a worker process on them."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (a private Redis for the S3 deployment)"
        if IN_CI:
            pytest.fail(message + ", and CI=true forbids skipping")
        pytest.skip(message)
    register_secret(PrivateS3.SECRET_ACCESS_KEY)
    bucket = new_bucket(s3_server)
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_test").create()
    redis_server = PrivateRedis().start()
    env = (
        service_environment(database.url, redis_server.url)
        | FAST_RECONCILE
        | s3_server.environment(bucket)
        | {"AVATARADAM_BLOBS_S3_PART_SIZE_BYTES": str(PART)}
    )
    log = tmp_path_factory.mktemp("s3-worker") / "worker.log"
    worker = ServiceProcess(["worker", "--processes", "1", "--threads", "2"], env, log).start()
    try:
        yield env, bucket
    finally:
        worker.stop()
        redis_server.stop()
        database.drop()


@pytest.fixture(scope="module")
async def deployment(s3_env: tuple[dict[str, str], str]) -> AsyncIterator[S3Deployment]:
    """The API of the S3 deployment in this event loop, and a dealership on it."""
    env, bucket = s3_env
    container = build_container(load_settings(env, env_file=None))
    await container.start()
    try:
        transport = asgi_transport(create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            email = f"root-{uuid.uuid4().hex[:8]}@example.com"
            await container.create_user.create(
                NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
            )
            tenant = await new_tenant(http, await sign_in(http, email, None))
            yield S3Deployment(env, bucket, env["AVATARADAM_DATABASE_URL"], http, tenant)
    finally:
        await container.close()


async def _blob_rows(database_url: str, document_id: str) -> int:
    """Rows of the document in PostgreSQL's own blob table (none with the S3 store)."""
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM document_blobs WHERE document_id = $1", uuid.UUID(document_id)
        )
    finally:
        await connection.close()
    return count


async def test_a_large_upload_goes_to_the_bucket_in_parts_and_a_worker_ingests_it_from_there(
    s3_server: PrivateS3, deployment: S3Deployment
) -> None:
    """Given a 7 MiB PDF (a page of text and incompressible ballast) and 5 MiB parts, the
    upload answers 202 with the object already whole in the bucket (two parts), the
    worker ingests it from the bucket (PostgreSQL holds none of its bytes), search finds
    its words, and deleting the document removes the object."""
    http, tenant = deployment.client, deployment.tenant
    pdf = text_pdf(
        "Tire and wheel protection covers pothole damage to alloy rims.",
        ballast=os.urandom(7 * MIB),
    )
    created = await upload(http, tenant.admin, pdf, "tire-wheel.pdf", "product_knowledge")
    assert created.status_code == 202, created.text
    document_id = created.json()["id"]
    key = f"documents/{document_id}"
    etag = await object_etag(s3_server, deployment.bucket, key)
    assert etag is not None
    assert etag.endswith("-2")
    assert await _blob_rows(deployment.database_url, document_id) == 0

    ready = await wait_for_status(http, tenant.admin, document_id, {"ready", "failed"})
    assert ready["status"] == "ready", ready
    assert ready["size_bytes"] == len(pdf)
    search = await http.post(
        "/v1/search",
        json={"query": "pothole damage to alloy rims", "top_k": 3},
        headers=tenant.user.headers,
    )
    assert search.status_code == 200, search.text
    assert search.json()["results"][0]["document_id"] == document_id

    deleted = await http.delete(f"/v1/documents/{document_id}", headers=tenant.admin.headers)
    assert deleted.status_code == 202, deleted.text
    await wait_for_status(http, tenant.admin, document_id, {"gone"})
    assert key not in await object_keys(s3_server, deployment.bucket)


async def test_with_the_s3_server_stopped_an_upload_answers_503_and_stores_nothing(
    deployment: S3Deployment,
) -> None:
    """Given an API whose S3 server has stopped, an upload answers 503
    `dependency_unavailable`, and no document was committed (nor, in its transaction,
    its outbox entry)."""
    stopped = PrivateS3().start()
    stopped.create_bucket(deployment.bucket)
    stopped.stop()
    env = deployment.env | {
        "AVATARADAM_BLOBS_S3_ENDPOINT_URL": stopped.endpoint_url,
        "AVATARADAM_BLOBS_S3_TIMEOUT_S": "2",
        "AVATARADAM_BLOBS_S3_MAX_ATTEMPTS": "2",
    }
    container = build_container(load_settings(env, env_file=None))
    await container.start()
    tenant = deployment.tenant
    try:
        transport = asgi_transport(create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            refused = await upload(
                http,
                tenant.admin,
                b"GAP covers the difference between the loan and the car's value.\n" * 40,
                "gap.txt",
            )
            assert refused.status_code == 503, refused.text
            assert problem(refused)["code"] == "dependency_unavailable"
    finally:
        await container.close()

    connection = await asyncpg.connect(deployment.database_url)
    try:
        documents = await connection.fetchval(
            "SELECT count(*) FROM documents WHERE dealership_id = $1 AND filename = 'gap.txt'",
            uuid.UUID(tenant.dealership_id),
        )
    finally:
        await connection.close()
    assert documents == 0
