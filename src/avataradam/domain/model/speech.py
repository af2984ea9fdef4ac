"""A reply's audio, spoken once and kept (issue 20)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

import msgspec

_AUDIO_NAMESPACE = UUID("6c1c2f39-6a55-4d4e-9b8a-3a1d2a0e5f11")


def audio_blob_id(message_id: UUID, engine: str, voice: str) -> UUID:
    """The blob of a reply spoken by `engine` with `voice`: the same for every process."""
    return uuid5(_AUDIO_NAMESPACE, f"{message_id}:{engine}:{voice}")


class StoredAudio(msgspec.Struct, frozen=True, kw_only=True):
    """A reply's WAV in the blob store (`blob_id`), one per message, engine and voice."""

    message_id: UUID
    engine: str
    voice: str
    blob_id: UUID
    dealership_id: UUID
    content_type: str
    size_bytes: int
    duration_s: float
    sample_rate: int
    sha256: str
    """Hex digest of the whole file: its entity tag."""
    created_at: datetime
