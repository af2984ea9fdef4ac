"""Failure reasons and the shared guards every extractor applies to untrusted files."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import charset_normalizer

from avataradam.domain.ports.knowledge import ExtractedSection, ExtractionFailed

ENCRYPTED_PDF: Final = "encrypted_pdf"
CORRUPT_FILE: Final = "corrupt_file"
TOO_LARGE: Final = "too_large"
EMPTY_TEXT: Final = "empty_text"
UNSUPPORTED_TYPE: Final = "unsupported_type"

DEFAULT_MAX_TEXT_CHARS: Final = 20_000_000
DEFAULT_MAX_TEXT_FILE_BYTES: Final = 50 * 1024 * 1024

# NUL cannot be stored in PostgreSQL text; other C0 controls are extraction debris.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def clean_text(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The whole file, refusing one larger than `max_bytes` before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ExtractionFailed(f"file of {size} bytes exceeds {max_bytes}", reason=TOO_LARGE)
        return path.read_bytes()
    except OSError as exc:
        raise ExtractionFailed("file cannot be read", reason=CORRUPT_FILE) from exc


def decode_text(data: bytes) -> str:
    """Unicode text of bytes in an unknown encoding: BOM, then UTF-8, then detection."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ExtractionFailed("text is not valid Unicode", reason=CORRUPT_FILE) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionFailed("no text encoding fits the file", reason=CORRUPT_FILE)
    return str(best)


def bounded_sections(
    sections: Iterable[ExtractedSection], max_text_chars: int
) -> list[ExtractedSection]:
    """Non-empty sections; `too_large` past `max_text_chars`, `empty_text` if none."""
    kept: list[ExtractedSection] = []
    total = 0
    for section in sections:
        if not section.text:
            continue
        total += len(section.text)
        if total > max_text_chars:
            raise ExtractionFailed(
                f"extracted text exceeds {max_text_chars} characters", reason=TOO_LARGE
            )
        kept.append(section)
    if not kept:
        raise ExtractionFailed("the file contains no extractable text", reason=EMPTY_TEXT)
    return kept
