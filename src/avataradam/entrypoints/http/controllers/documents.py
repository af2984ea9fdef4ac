"""Knowledge-base documents: upload (202), status, listing, deletion, retry, passages."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, BinaryIO, cast
from uuid import UUID

import structlog
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery, KwargDefinition
from litestar.status_codes import HTTP_202_ACCEPTED

from avataradam.domain.errors import FileTooLarge
from avataradam.domain.filetypes import (
    HTML,
    SNIFF_HEAD_BYTES,
    TEXT_CONTENT_TYPES,
    confirm_content_type,
    safe_filename,
    sniff_content_type,
)
from avataradam.domain.model import Document, DocumentStatus, Topic
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit, OrderParam
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.documents import DocumentOut, PassageOut
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

PART_BYTES = 1024 * 1024


@dataclass
class UploadForm:
    file: Annotated[
        UploadFile, KwargDefinition(description="The document; 25 MiB at most by default.")
    ]
    topic: Topic
    dealership_id: Annotated[
        UUID | None,
        KwargDefinition(
            description="A super admin names the dealership to upload into.",
            examples=[Example(value="0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90")],
        ),
    ] = None


async def _scan(
    upload: UploadFile, max_bytes: int, check_text_encoding: Callable[[BinaryIO, bool], object]
) -> UploadedFile:
    """Hashes, measures and sniffs the spooled upload by its bytes, part by part."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    await upload.seek(0)
    while part := await upload.read(PART_BYTES):
        if len(head) < SNIFF_HEAD_BYTES:
            head += part[: SNIFF_HEAD_BYTES - len(head)]
        size += len(part)
        if size > max_bytes:
            raise FileTooLarge(
                f"the file exceeds the upload limit of {max_bytes} bytes", field="file"
            )
        digest.update(part)
    filename = safe_filename(upload.filename or "upload")
    await upload.seek(0)
    content_type = await asyncio.to_thread(
        confirm_content_type, cast(BinaryIO, upload.file), sniff_content_type(head, filename)
    )
    if content_type in TEXT_CONTENT_TYPES:
        # Refused now (415 undecodable_text) rather than stored as mojibake.
        await asyncio.to_thread(
            check_text_encoding, cast(BinaryIO, upload.file), content_type == HTML
        )
    return UploadedFile(
        filename=filename, content_type=content_type, size_bytes=size, sha256=digest.hexdigest()
    )


def _reader(upload: UploadFile) -> AsyncIterator[bytes]:
    async def parts() -> AsyncIterator[bytes]:
        await upload.seek(0)
        while part := await upload.read(PART_BYTES):
            yield part

    return parts()


def _out(container: Container, document: Document) -> DocumentOut:
    return to_out(document, DocumentOut, stalled=document.stalled(container.clock.now()))


class DocumentController(Controller):
    path = "/v1/documents"
    tags = ["documents"]
    security = SECURITY

    @post(
        status_code=HTTP_202_ACCEPTED,
        opt=limited("upload"),
        operation_id="uploadDocument",
        summary="Upload a document into a topic knowledge base",
        description=(
            "Multipart `file` + `topic`. Answers 202 at once with the queued document and a "
            "`Location` to poll; processing runs in the background. Types are decided by the "
            "file's bytes (PDF, DOCX, HTML, Markdown, plain text). The same file again in "
            "the same dealership and topic is 409 `duplicate_document` naming the existing "
            "document in `details.document_id`, concurrent uploads included. With an "
            "`Idempotency-Key`, every repeat (concurrent or later, for 24 h) replays the first "
            "answer as it was given, marked `Idempotent-Replayed: true`; the key with another "
            "file or topic is 422 `idempotency_key_reused`. Text whose character encoding "
            "cannot be told with confidence is 415 `undecodable_text` (save it as UTF-8). "
            "Admins only; a super admin passes `dealership_id`."
        ),
        response_headers=[
            ResponseHeader(
                name="Location",
                value="/v1/documents/{id}",
                description="Where to poll the document: `/v1/documents/{id}`.",
                documentation_only=True,
            ),
            REPLAYED_HEADER,
        ],
        responses=problems(400, 403, 404, 409, 413, 415, 422, 429),
    )
    async def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentOut]:
        max_bytes = container.settings.ingestion.max_upload_bytes
        try:
            result = await container.upload_document(
                principal,
                UploadRequest(
                    topic=data.topic,
                    dealership_id=data.dealership_id,
                    idempotency_key=idempotency_key,
                    request_id=structlog.contextvars.get_contextvars().get("request_id"),
                ),
                lambda: _scan(data.file, max_bytes, container.check_text_encoding),
                lambda: _reader(data.file),
            )
        finally:
            await data.file.close()
        response = answered(result, _out(container, result.value), HTTP_202_ACCEPTED)
        response.headers["Location"] = f"/v1/documents/{result.value.id}"
        return response

    @get(
        operation_id="listDocuments",
        summary="List documents",
        description=(
            "Oldest first (`order=newest`: newest first), filtered by `topic` and `status`, "
            "cursor-paginated. A super admin passes `dealership_id`."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_documents(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        topic: FromQuery[Topic | None] = None,
        status: FromQuery[DocumentStatus | None] = None,
        dealership_id: FromQuery[UUID | None] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[DocumentOut]:
        return await list_page(
            partial(
                container.list_documents,
                principal,
                dealership_id=dealership_id,
                topic=topic,
                status=status,
            ),
            cursor,
            limit,
            render=lambda d: _out(container, d),
            order=order,
        )

    @get(
        "/{document_id:uuid}",
        operation_id="getDocument",
        summary="Read a document's status",
        description=(
            "`status` goes `queued -> processing -> ready | failed` (`deleting` while removal "
            "runs); `stage` and `progress` (0..1) follow the processing; `error` tells why a "
            "document failed; `stalled` flags a processing document that no worker holds (its "
            "worker died, or it waits for a retry): it is re-driven on its own."
        ),
        responses=problems(400, 404),
    )
    async def read(
        self,
        document_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DocumentOut:
        return _out(container, await container.get_document(principal, document_id))

    @get(
        "/{document_id:uuid}/passages/{index:int}",
        operation_id="getPassage",
        summary="Read a cited passage of a document",
        description=(
            "The passage a chat reply's source or a search result names by `document_id` and "
            "`index`: its text whole (as stored and cited), with the document's filename and "
            "topic and the passage's page and section. Anyone of the document's dealership may "
            "read it; a super admin any dealership's. Only a `ready` document's passages are "
            "served: of a document in another status (processed again, failed, being deleted), "
            "of an unknown index and of another dealership's document the answer is 404 "
            "`not_found`."
        ),
        responses=problems(400, 404),
    )
    async def passage(
        self,
        document_id: FromPath[UUID],
        index: FromPath[int],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> PassageOut:
        return to_out(await container.get_passage(principal, document_id, index), PassageOut)

    @delete(
        "/{document_id:uuid}",
        status_code=HTTP_202_ACCEPTED,
        operation_id="deleteDocument",
        summary="Delete a document",
        description=(
            "Answers 202 with status `deleting`; vectors, chunks and cached answers go. "
            "Admins only."
        ),
        responses=problems(400, 403, 404, 409),
    )
    async def remove(
        self,
        document_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DocumentOut:
        return _out(container, await container.delete_document(principal, document_id))

    @post(
        "/{document_id:uuid}/retry",
        status_code=HTTP_202_ACCEPTED,
        operation_id="retryDocument",
        summary="Re-run a failed document",
        description="Queues a `failed` document again (202); any other status is 409. Admins only.",
        responses=problems(400, 403, 404, 409),
    )
    async def retry(
        self,
        document_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> DocumentOut:
        return _out(container, await container.retry_document(principal, document_id))
