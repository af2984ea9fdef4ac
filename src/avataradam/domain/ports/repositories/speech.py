"""Persistence port of replies' audio (the bytes live in a `BlobRepository`)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from avataradam.domain.model.speech import StoredAudio


class MessageAudioRepository(Protocol):
    """Replies spoken once per engine and voice."""

    async def get(self, message_id: UUID, *, engine: str, voice: str) -> StoredAudio | None: ...

    async def add(self, audio: StoredAudio) -> bool:
        """Stores `audio` unless the message already has audio of its engine and voice
        (then False, changing nothing; a concurrent add waits for the first to end).
        NotFound when the message is gone."""
        ...
