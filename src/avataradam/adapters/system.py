"""Wall clock and random ids."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime


class SystemClock:
    """`Clock` from the operating system, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class UuidGenerator:
    """`IdGenerator` of random (version 4) UUIDs."""

    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()
