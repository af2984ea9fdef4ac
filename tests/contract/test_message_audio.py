"""Contract of replies' audio (`message_audio` and `audio_blobs`), run against every
unit of work: kept once per message, engine and voice; its bytes beside it."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest

from avataradam.domain.errors import NotFound
from avataradam.domain.model import MessageRole
from avataradam.domain.model.speech import StoredAudio, audio_blob_id
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import conversation, message, seed

# `uow` (memory, postgres, pgbouncer) is tests/contract/conftest.py's.

AT = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)


async def _parts(data: bytes, size: int = 700_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _reply(uow: UnitOfWorkFactory) -> tuple[uuid.UUID, uuid.UUID]:
    d, u = await seed(uow)
    c = conversation(d, u)
    m = message(c.id, "GAP is optional.", MessageRole.ASSISTANT, AT)
    async with uow() as work:
        await work.conversations.add(c)
        await work.conversations.add_message(m)
        await work.commit()
    return d.id, m.id


def _audio(dealership_id: uuid.UUID, message_id: uuid.UUID, data: bytes, voice: str) -> StoredAudio:
    return StoredAudio(
        message_id=message_id,
        engine="memory",
        voice=voice,
        blob_id=audio_blob_id(message_id, "memory", voice),
        dealership_id=dealership_id,
        content_type="audio/wav",
        size_bytes=len(data),
        duration_s=1.25,
        sample_rate=16_000,
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=AT,
    )


async def test_a_reply_is_kept_once_per_voice_with_its_bytes(uow: UnitOfWorkFactory) -> None:
    dealership_id, message_id = await _reply(uow)
    data = os.urandom(2 * 1024 * 1024 + 99)
    audio = _audio(dealership_id, message_id, data, "memory-adam")
    async with uow() as work:
        assert await work.message_audio.add(audio)
        assert await work.audio_blobs.write(audio.blob_id, _parts(data)) == len(data)
        await work.commit()
    async with uow() as work:
        again = msgspec.structs.replace(audio, sha256="0" * 64)
        assert not await work.message_audio.add(again)
        other = _audio(dealership_id, message_id, b"other", "memory-ana")
        assert await work.message_audio.add(other)
        await work.commit()
    async with uow(read_only=True) as work:
        found = await work.message_audio.get(message_id, engine="memory", voice="memory-adam")
        parts = [part async for part in work.audio_blobs.read(audio.blob_id)]
        missing = await work.message_audio.get(message_id, engine="piper", voice="memory-adam")
    assert found == audio
    assert missing is None
    assert max(len(part) for part in parts) <= 1024 * 1024 and b"".join(parts) == data


async def test_audio_of_a_message_that_does_not_exist_is_refused(uow: UnitOfWorkFactory) -> None:
    dealership_id, _ = await _reply(uow)
    with pytest.raises(NotFound):
        async with uow() as work:
            await work.message_audio.add(_audio(dealership_id, uuid.uuid4(), b"x", "memory-adam"))
            await work.commit()
