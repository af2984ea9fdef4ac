"""In-memory twin of the replies' audio repository (see `adapters/postgres/speech_audio.py`)."""

from __future__ import annotations

from uuid import UUID

from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import NotFound
from avataradam.domain.model.speech import StoredAudio


class InMemoryMessageAudioRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def get(self, message_id: UUID, *, engine: str, voice: str) -> StoredAudio | None:
        return self._tx.tables.message_audio.get((message_id, engine, voice))

    async def add(self, audio: StoredAudio) -> bool:
        key = (audio.message_id, audio.engine, audio.voice)

        def op(t: Tables) -> bool:
            if audio.message_id not in t.messages:
                raise NotFound("message not found")
            if key in t.message_audio:
                return False
            t.message_audio[key] = audio
            return True

        return self._tx.write(op)
