"""`Spool` on the operating system's temporary directory."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path


class TemporaryDirectorySpool:
    """Each scratch file is `upload` in a private temporary directory (`avataradam-*`),
    removed with the directory."""

    @contextlib.contextmanager
    def scratch_file(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="avataradam-") as tmp:
            yield Path(tmp) / "upload"

    async def write(self, path: Path, parts: AsyncIterator[bytes]) -> None:
        with path.open("wb") as handle:
            async for part in parts:
                handle.write(part)
