"""An upload is checked in the use case's order: who asks first, then what they sent.

The file is read (measured, hashed, sniffed) only once the caller may upload at all,
so a trainee's upload of an oversize or unsupported file is a 403, never a 413 or 415.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from avataradam.domain.access import Principal
from avataradam.domain.errors import FileTooLarge, PermissionDenied, UnsupportedFileType
from avataradam.domain.model import Role, Topic
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.entrypoints.http.problems import domain_problem
from tests.unit.test_ingestion_usecases import World


async def nothing() -> AsyncIterator[bytes]:
    yield b""


@pytest.mark.parametrize(
    "refusal",
    [
        FileTooLarge("the file exceeds the upload limit", field="file"),
        UnsupportedFileType("not a document", field="file"),
    ],
)
async def test_a_trainees_upload_is_refused_before_its_file_is_read(
    refusal: Exception,
) -> None:
    world = World()
    admin = await world.admin()
    trainee = Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=admin.dealership_id)
    scanned: list[Principal] = []

    async def scan() -> UploadedFile:
        scanned.append(trainee)
        raise refusal

    with pytest.raises(PermissionDenied) as refused:
        await world.upload(trainee, UploadRequest(topic=Topic.BOOKS), scan, nothing)

    assert scanned == []
    assert domain_problem(refused.value)[1].status == 403


async def test_an_admins_upload_is_read_and_refused_for_what_it_is() -> None:
    world = World()
    admin = await world.admin()

    async def scan() -> UploadedFile:
        raise FileTooLarge("the file exceeds the upload limit", field="file")

    with pytest.raises(FileTooLarge) as refused:
        await world.upload(admin, UploadRequest(topic=Topic.BOOKS), scan, nothing)
    assert domain_problem(refused.value)[1].status == 413
