"""The temporary-directory spool: a scratch file holds what was written, in order, and
is gone once its block exits, however it exits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from avataradam.adapters.filesystem.spool import TemporaryDirectorySpool
from avataradam.domain.ports.knowledge import Spool


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_a_scratch_file_holds_the_parts_and_is_removed_after_its_block() -> None:
    spool: Spool = TemporaryDirectorySpool()
    with spool.scratch_file() as path:
        assert not path.exists()
        await spool.write(path, parts(b"one ", b"two"))
        assert path.read_bytes() == b"one two"
    assert not path.exists()
    assert not path.parent.exists()


async def test_a_scratch_file_is_removed_when_its_block_fails() -> None:
    spool: Spool = TemporaryDirectorySpool()
    seen: list[Path] = []

    async def fail_inside() -> None:
        with spool.scratch_file() as path:
            seen.append(path)
            await spool.write(path, parts(b"x"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await fail_inside()
    assert not seen[0].parent.exists()


async def test_two_scratch_files_never_share_a_path() -> None:
    spool = TemporaryDirectorySpool()
    with spool.scratch_file() as first, spool.scratch_file() as second:
        assert first != second
