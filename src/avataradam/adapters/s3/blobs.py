"""`BlobRepository` on an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...), through
aiobotocore's asyncio client.

A blob is the object `<key_prefix><blob id>`. A write sends parts of at most
`part_size_bytes` as they arrive: a blob that fits in one part is one `PutObject`, a
larger one a multipart upload (aborted if anything fails), so at most one part is in
memory whatever the file's size. An object appears whole or not at all.

Objects are not part of the database transaction: the upload stores the object inside
its unit of work, before the document row and its outbox entry commit, so a `202` always
names a stored object; a commit that fails after the object was stored leaves an orphan
object (unreferenced; its id is never reused). A purge deletes the object before the row,
and a purge interrupted between the two is re-driven and finishes the row. Multipart
uploads abandoned by a killed process stay invisible and billable until the bucket's
`AbortIncompleteMultipartUpload` lifecycle rule removes them (docs/operations.md).

Every failure to reach or use the bucket (refused connection, timeout, 5xx, access
denied, missing bucket) raises `DependencyUnavailable`; the port never sees a botocore
type.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Literal

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from avataradam.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client

READ_PART_BYTES = 1024 * 1024
"""The most a `read` yields at once (the port's part size)."""
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3BlobRepository:
    """Blobs as objects of one bucket under `key_prefix`.

    The client (and its connection pool) opens on first use and closes on `aclose`; one
    instance serves every unit of work of a process.
    """

    def __init__(
        self,
        *,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        key_prefix: str = "",
        part_size_bytes: int = 8 * 1024 * 1024,
        addressing_style: Literal["auto", "path", "virtual"] = "auto",
        timeout_s: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        self._bucket = bucket
        self._prefix = key_prefix
        self._part_size = part_size_bytes
        self._region, self._endpoint_url = region, endpoint_url
        self._access_key_id, self._secret_access_key = access_key_id, secret_access_key
        self._config = AioConfig(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": addressing_style},
        )
        self._client: S3Client | None = None
        self._exits = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    def key(self, blob_id: uuid.UUID) -> str:
        """The object key of a blob."""
        return f"{self._prefix}{blob_id}"

    async def aclose(self) -> None:
        self._client = None
        await self._exits.aclose()

    async def _s3(self) -> S3Client:
        async with self._opening:
            if self._client is None:
                creator = get_session().create_client(
                    "s3",
                    region_name=self._region,
                    endpoint_url=self._endpoint_url,
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=self._secret_access_key,
                    config=self._config,
                )
                self._client = client = await self._exits.enter_async_context(creator)
                return client
            return self._client

    async def write(self, blob_id: uuid.UUID, parts: AsyncIterator[bytes]) -> int:
        """Stores the bytes of `parts` as the blob (replacing it) and returns their count;
        DependencyUnavailable, with nothing stored, when the bucket cannot be used.
        Errors of `parts` itself propagate unchanged (after any multipart is aborted)."""
        s3 = await self._s3()
        upload = _Upload(s3, self._bucket, self.key(blob_id))
        pending = bytearray()
        total = 0
        try:
            async for part in parts:
                total += len(part)
                pending += part
                while len(pending) >= self._part_size:
                    await upload.send(bytes(pending[: self._part_size]))
                    del pending[: self._part_size]
            await upload.finish(bytes(pending))
        except BaseException:
            await upload.abort()
            raise
        return total

    async def read(self, blob_id: uuid.UUID) -> AsyncIterator[bytes]:
        """Yields the blob in parts of at most READ_PART_BYTES; nothing if it is unknown."""
        s3 = await self._s3()
        try:
            with _unavailable("read"):
                response = await s3.get_object(Bucket=self._bucket, Key=self.key(blob_id))
        except DependencyUnavailable as exc:
            if _error_code(exc.__cause__) in _MISSING:
                return
            raise
        async with response["Body"] as body:
            while True:
                with _unavailable("read"):
                    part = await body.read(READ_PART_BYTES)
                if not part:
                    return
                yield part

    async def delete(self, blob_id: uuid.UUID) -> None:
        """Removes the object; an unknown blob is no error (S3 deletes idempotently)."""
        s3 = await self._s3()
        with _unavailable("delete"):
            await s3.delete_object(Bucket=self._bucket, Key=self.key(blob_id))


class _Upload:
    """One object being written: a single `PutObject` unless a full part was sent before
    the end, then a multipart upload completed by `finish`."""

    def __init__(self, s3: S3Client, bucket: str, key: str) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._upload_id: str | None = None
        self._sent: list[tuple[int, str]] = []  # (part number, ETag)

    async def send(self, data: bytes) -> None:
        with _unavailable("write"):
            if self._upload_id is None:
                created = await self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = created["UploadId"]
            number = len(self._sent) + 1
            answer = await self._s3.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
            )
        self._sent.append((number, answer["ETag"]))

    async def finish(self, rest: bytes) -> None:
        if self._upload_id is None:
            with _unavailable("write"):
                await self._s3.put_object(Bucket=self._bucket, Key=self._key, Body=rest)
            return
        if rest:
            await self.send(rest)
        with _unavailable("write"):
            await self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": number, "ETag": etag} for number, etag in self._sent]
                },
            )
        self._upload_id = None

    async def abort(self) -> None:
        """Best effort: the bucket's lifecycle rule removes what this cannot."""
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        with contextlib.suppress(Exception):
            await self._s3.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id
            )


@contextlib.contextmanager
def _unavailable(action: str) -> Iterator[None]:
    """Re-raises every failure of the S3 client as DependencyUnavailable."""
    try:
        yield
    except ClientError as exc:
        raise DependencyUnavailable(
            f"object storage could not {action}: {_error_code(exc) or 'error'}"
        ) from exc
    except (BotoCoreError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DependencyUnavailable(
            f"object storage could not {action}: {type(exc).__name__}"
        ) from exc


def _error_code(exc: BaseException | None) -> str | None:
    if not isinstance(exc, ClientError):
        return None
    code = exc.response.get("Error", {}).get("Code")
    return str(code) if code is not None else None
