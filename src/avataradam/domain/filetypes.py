"""Upload file types, decided by the bytes of the file, never by the client's Content-Type.

The upload path reads the first `SNIFF_HEAD_BYTES` of the stream and calls
`sniff_content_type(head, filename)`. A ZIP head can only be a *candidate* for DOCX (the
central directory sits at the end of the file), so once the whole file is spooled the
caller must run `confirm_content_type(file, sniffed)`; it returns None when a candidate
turns out to be some other ZIP.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final

SNIFF_HEAD_BYTES: Final = 8192

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML: Final = "text/html"
PLAIN_TEXT: Final = "text/plain"
MARKDOWN: Final = "text/markdown"

ALLOWED_CONTENT_TYPES: Final = frozenset({PDF, DOCX, HTML, PLAIN_TEXT, MARKDOWN})
TEXT_CONTENT_TYPES: Final = frozenset({HTML, PLAIN_TEXT, MARKDOWN})
"""Types stored as bytes in some character encoding, which must be decodable."""

MAX_FILENAME_CHARS: Final = 200
FALLBACK_FILENAME: Final = "upload"

_ZIP_MAGIC = b"PK\x03\x04"
_DOCX_HINTS = (b"[Content_Types].xml", b"word/")
_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
_HTML_PREFIX = re.compile(r"\A\s*(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)

# Formats that can look like text to a lenient decoder; refused outright.
_BINARY_MAGIC = (
    b"MZ",  # Windows executables
    b"\x7fELF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"RIFF",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
    b"Rar!",
    b"\xd0\xcf\x11\xe0",  # OLE2: legacy .doc/.xls
    b"PK\x05\x06",  # empty zip
    b"PK\x07\x08",  # spanned zip
)

BOMS: Final[tuple[tuple[bytes, str], ...]] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
"""Byte order marks, longest first (UTF-32 LE starts like UTF-16 LE), and the codec that
reads what follows the mark."""

# BOM-less UTF-16 of mostly Latin text: every other byte is NUL. Shares of the sniffed
# head's bytes at odd/even offsets (thresholds of the WHATWG-style NUL-pattern rule).
_UTF16_MIN_NUL_SHARE = 0.3
_UTF16_MAX_OTHER_NUL_SHARE = 0.05

# Share of C0 control characters (other than whitespace) above which bytes are binary.
_MAX_CONTROL_RATIO = 0.01
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\b\x1b")


def sniff_content_type(head: bytes, filename: str) -> str | None:
    """The content type the head of a file proves, or None for anything not accepted.

    `DOCX` from a head is provisional; confirm it with `confirm_content_type`.
    """
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(_ZIP_MAGIC):
        return DOCX if _looks_like_docx_head(head, filename) else None
    if not head or head.startswith(_BINARY_MAGIC):
        return None
    return _text_content_type(head, filename)


def confirm_content_type(file: Path | BinaryIO, sniffed: str | None) -> str | None:
    """Re-check what a head could not prove, now that the whole file is on disk: a DOCX
    candidate without a WordprocessingML main part is None (blocking I/O on `file`)."""
    if sniffed == DOCX and not is_docx(file):
        return None
    return sniffed


def is_docx(path: Path | BinaryIO) -> bool:
    """True for a ZIP whose central directory holds a WordprocessingML main part."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "word/document.xml" in names and "[Content_Types].xml" in names


def safe_filename(name: str) -> str:
    """A display/storage name with no path, no control characters and a bounded length."""
    normalized = unicodedata.normalize("NFC", name).replace("\\", "/")
    base = normalized.rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch) not in {"Cc", "Cf"})
    cleaned = cleaned.strip().strip(".").strip()
    if not cleaned:
        return FALLBACK_FILENAME
    if len(cleaned) > MAX_FILENAME_CHARS:
        suffix = PurePosixPath(cleaned).suffix
        if len(suffix) > 16:
            suffix = ""
        cleaned = cleaned[: MAX_FILENAME_CHARS - len(suffix)].rstrip() + suffix
    return cleaned


def _text_content_type(head: bytes, filename: str) -> str | None:
    text = _decode_text_head(head)
    if text is None:
        return None
    if _HTML_PREFIX.match(text.removeprefix("\ufeff")):
        return HTML
    if PurePosixPath(safe_filename(filename).lower()).suffix in _MARKDOWN_SUFFIXES:
        return MARKDOWN
    return PLAIN_TEXT


def _looks_like_docx_head(head: bytes, filename: str) -> bool:
    if any(hint in head for hint in _DOCX_HINTS):
        return True
    return safe_filename(filename).lower().endswith(".docx")


def bom_encoding(head: bytes) -> tuple[str, int] | None:
    """The codec a byte order mark at the start of `head` names, and the mark's length."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    return None


def utf16_without_bom(head: bytes) -> str | None:
    """`utf-16-le`/`utf-16-be` when NULs sit on one side of the byte pairs only, as in
    BOM-less UTF-16 of mostly ASCII-range text (Windows tools write it); else None."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = head[0 : pairs * 2 : 2].count(0) / pairs
    odd = head[1 : pairs * 2 : 2].count(0) / pairs
    if odd >= _UTF16_MIN_NUL_SHARE and even <= _UTF16_MAX_OTHER_NUL_SHARE:
        return "utf-16-le"
    if even >= _UTF16_MIN_NUL_SHARE and odd <= _UTF16_MAX_OTHER_NUL_SHARE:
        return "utf-16-be"
    return None


def _decode_text_head(head: bytes) -> str | None:
    """Decoded head if it is text: BOM-marked Unicode, BOM-less UTF-16 by its NUL
    pattern, or NUL-free with few controls."""
    marked = bom_encoding(head)
    if marked is not None:
        text = _decode_incremental(head[marked[1] :], marked[0])
        return text if text is not None and _mostly_printable(text) else None
    utf16 = utf16_without_bom(head)
    if utf16 is not None:
        text = _decode_incremental(head, utf16)
        return text if text is not None and _mostly_printable(text) else None
    if b"\x00" in head:
        return None
    text = _decode_incremental(head, "utf-8")
    if text is None:
        # Legacy 8-bit text (Latin-1, Windows-1252…): every byte decodes; judge controls.
        text = head.decode("latin-1")
    return text if _mostly_printable(text) else None


def _decode_incremental(head: bytes, encoding: str) -> str | None:
    """Strict decoding that tolerates a multi-byte character cut off at the head's end."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return None


def _mostly_printable(text: str) -> bool:
    if "\x00" in text:
        return False
    controls = sum(1 for ch in text if ch < " " and ch not in _TEXT_CONTROLS)
    return controls <= len(text) * _MAX_CONTROL_RATIO
