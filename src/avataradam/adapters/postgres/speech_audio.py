"""Replies' audio in PostgreSQL (`message_audio`, migration 0024); the bytes are the blob
store's."""

from __future__ import annotations

from uuid import UUID

from avataradam.adapters.postgres.errors import translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    insert,
    params,
    select,
)
from avataradam.domain.model.speech import StoredAudio

_COLUMNS = columns(
    "message_id, engine, voice, blob_id, dealership_id, content_type, size_bytes,"
    " duration_s, sample_rate, sha256, created_at"
)


class PostgresMessageAudioRepository(ConnectionRepository):
    @translate
    async def get(self, message_id: UUID, *, engine: str, voice: str) -> StoredAudio | None:
        return await self._one(
            StoredAudio,
            select("message_audio", _COLUMNS)
            + " WHERE message_id = $1 AND engine = $2 AND voice = $3",
            message_id,
            engine,
            voice,
        )

    @translate
    async def add(self, audio: StoredAudio) -> bool:
        inserted = await self._conn.fetchval(
            insert("message_audio", _COLUMNS)
            + " ON CONFLICT (message_id, engine, voice) DO NOTHING RETURNING true",
            *params(audio, _COLUMNS),
        )
        return bool(inserted)
