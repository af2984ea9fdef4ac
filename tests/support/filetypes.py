"""A file's content type as the upload path decides it, for tests that start from a path."""

from __future__ import annotations

from pathlib import Path

from avataradam.domain.filetypes import SNIFF_HEAD_BYTES, confirm_content_type, sniff_content_type


def sniff_file(path: Path, filename: str) -> str | None:
    """`sniff_content_type` of the head, then `confirm_content_type` of the whole file."""
    with path.open("rb") as file:
        head = file.read(SNIFF_HEAD_BYTES)
    return confirm_content_type(path, sniff_content_type(head, filename))
