"""Buckets of the tests' S3 server (tests/support/s3.py): the adapter on one, and a
plain S3 client to see what is in them without the adapter."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from avataradam.adapters.s3.blobs import S3BlobRepository
from ops.harness.services import PrivateS3

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client


def new_bucket(server: PrivateS3) -> str:
    """A bucket of its own on `server`, created through the S3 API."""
    name = f"avataradam-test-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    return name


def blob_store(
    server: PrivateS3,
    bucket: str,
    *,
    part_size_bytes: int = 5 * 1024 * 1024,
    timeout_s: float = 5.0,
    max_attempts: int = 2,
) -> S3BlobRepository:
    """The adapter on `bucket`, with S3's smallest part size unless told otherwise."""
    return S3BlobRepository(
        bucket=bucket,
        region=server.REGION,
        endpoint_url=server.endpoint_url,
        access_key_id=server.ACCESS_KEY_ID,
        secret_access_key=server.SECRET_ACCESS_KEY,
        key_prefix="documents/",
        part_size_bytes=part_size_bytes,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
    )


@contextlib.asynccontextmanager
async def s3_client(server: PrivateS3) -> AsyncIterator[S3Client]:
    """A plain S3 client on `server`: what is in a bucket, seen without the adapter."""
    async with get_session().create_client(
        "s3",
        region_name=server.REGION,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.ACCESS_KEY_ID,
        aws_secret_access_key=server.SECRET_ACCESS_KEY,
    ) as client:
        yield client


async def object_keys(server: PrivateS3, bucket: str) -> list[str]:
    async with s3_client(server) as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def object_etag(server: PrivateS3, bucket: str, key: str) -> str | None:
    """The object's ETag (a multipart upload's ends in `-<parts>`), None if absent."""
    async with s3_client(server) as s3:
        try:
            head = await s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return None
            raise
    return head["ETag"].strip('"')


async def pending_multipart_uploads(server: PrivateS3, bucket: str) -> list[str]:
    async with s3_client(server) as s3:
        listed = await s3.list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in listed.get("Uploads", [])]
