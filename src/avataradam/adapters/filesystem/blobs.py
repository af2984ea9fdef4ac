"""`BlobRepository` on a local directory, for a deployment on one host.

Files are written to a temporary name and renamed into place, so a reader never sees
a half-written blob. Unlike the PostgreSQL store they are not part of the database
transaction: an upload whose transaction rolls back leaves an orphan file (harmless,
unreferenced), and a purge removes the file before the row — a purge interrupted
between the two is re-driven by the reconciler and finishes the row. Every API and
worker process must see the same directory, hence "one host".
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from avataradam.domain.errors import DependencyUnavailable

PART_BYTES = 1024 * 1024


class FilesystemBlobRepository:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, blob_id: uuid.UUID) -> Path:
        return self._root / f"{blob_id}.blob"

    async def write(self, blob_id: uuid.UUID, parts: AsyncIterator[bytes]) -> int:
        temporary = self._root / f".{blob_id}.{uuid.uuid4().hex}.part"
        total = 0
        try:
            await asyncio.to_thread(self._root.mkdir, parents=True, exist_ok=True)
            handle = await asyncio.to_thread(temporary.open, "wb")
            try:
                async for part in parts:
                    await asyncio.to_thread(handle.write, part)
                    total += len(part)
                await asyncio.to_thread(_flush, handle)
            finally:
                handle.close()
            await asyncio.to_thread(os.replace, temporary, self._path(blob_id))
        except OSError as exc:
            raise DependencyUnavailable(f"blob directory unusable: {exc.strerror}") from exc
        finally:
            temporary.unlink(missing_ok=True)
        return total

    async def read(self, blob_id: uuid.UUID) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self._path(blob_id).open, "rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise DependencyUnavailable(f"blob directory unusable: {exc.strerror}") from exc
        try:
            while part := await asyncio.to_thread(handle.read, PART_BYTES):
                yield part
        finally:
            handle.close()

    async def delete(self, blob_id: uuid.UUID) -> None:
        try:
            await asyncio.to_thread(self._path(blob_id).unlink, missing_ok=True)
        except OSError as exc:
            raise DependencyUnavailable(f"blob directory unusable: {exc.strerror}") from exc


def _flush(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
