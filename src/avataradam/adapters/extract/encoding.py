"""The character encoding of an uploaded text file, told with confidence or refused.

Order of evidence (priors for this product's users: US and Latin-American dealerships,
files from Windows tools):

1. a byte order mark (UTF-8, UTF-16, UTF-32);
2. BOM-less UTF-16, by the NUL bytes on one side of each byte pair;
3. a charset the file declares itself (HTML `<meta charset>`), if the bytes agree;
4. UTF-8, when the whole file decodes strictly;
5. Windows-1252 (a superset of Latin-1's printable range) when the whole file decodes
   strictly and reads like Western text (few non-ASCII letters, no control characters).
   Between Latin code pages the prior wins outright: charset-normalizer alone took
   Windows-1252 French for Baltic (cp1257) and mixed Spanish and French for Central
   European (cp1250). The price: Polish, Czech or Turkish saved in their legacy code
   pages (not as UTF-8) keep their few non-Western letters wrong;
6. else the code page charset-normalizer is confident in (little "chaos", a language
   recognised, at least 32 bytes outside ASCII to judge: on fewer it names a language
   at random), when the whole file decodes strictly with it;

else `UndecodableText`: indexing a guess would store mojibake. Every candidate is checked
against the whole file, block by block, so memory stays bounded by the block size.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import charset_normalizer

from avataradam.domain.codes import CORRUPT_FILE, TOO_LARGE, UNDECODABLE_TEXT
from avataradam.domain.errors import InvalidInput, UndecodableText
from avataradam.domain.filetypes import SNIFF_HEAD_BYTES, bom_encoding, utf16_without_bom
from avataradam.domain.ports.knowledge import ExtractionFailed

BLOCK_BYTES: Final = 1024 * 1024
WESTERN: Final = "cp1252"

# A file is text while at most this share of its characters (or this many) are control
# characters other than tab, line breaks and form feed: the upload sniffer's own bound.
_MAX_CONTROL_SHARE = 0.01
_TOLERATED_CONTROLS = 8
# Western European text has few letters outside ASCII (French and Portuguese about 4 %,
# Icelandic under 20 %); text of another script read as Windows-1252 has nearly all.
# A couple are tolerated whatever the share, for a file of a few words ("año").
_MAX_NON_ASCII_LETTER_SHARE = 0.3
_TOLERATED_NON_ASCII_LETTERS = 2
# charset-normalizer's mess ratio under which its pick of an exotic code page is trusted,
# and the bytes outside ASCII it needs to have seen before it is listened to at all: on a
# few bytes it "recognises" Chinese in "año".
_MAX_CHAOS = 0.1
_MIN_DETECTOR_EVIDENCE_BYTES = 32
_DETECTOR_SAMPLE_BYTES = 256 * 1024
_HIGH_BYTES = bytes(range(128, 256))
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_LETTERS = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTERS = re.compile(r"[^\W\d_a-zA-Z]")
# A character a reader sees: not white space, not a zero-width mark (BOM, ZWSP, ZWJ…).
_VISIBLE = re.compile(r"[^\s\ufeff\u200b-\u200d\u2060]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """How to read a file: `codec` from byte `offset` on (past a byte order mark)."""

    codec: str
    offset: int = 0


@dataclass(slots=True)
class _Reading:
    """What one strict pass over the whole file found."""

    characters: int = 0
    controls: int = 0
    letters: int = 0
    non_ascii_letters: int = 0
    failed_at: int | None = None

    @property
    def printable(self) -> bool:
        tolerated = max(_TOLERATED_CONTROLS, self.characters * _MAX_CONTROL_SHARE)
        return self.failed_at is None and self.controls <= tolerated

    @property
    def western(self) -> bool:
        tolerated = self.letters * _MAX_NON_ASCII_LETTER_SHARE + _TOLERATED_NON_ASCII_LETTERS
        return self.printable and self.non_ascii_letters <= tolerated


def detect_encoding(file: BinaryIO, *, html: bool = False) -> TextEncoding:
    """The encoding of the seekable `file` (read from its start, left at its start).

    With `html`, the charset the page declares (`<meta charset>`) counts, if the whole
    file decodes with it. Raises `UndecodableText`.
    """
    file.seek(0)
    head = file.read(SNIFF_HEAD_BYTES)
    marked = bom_encoding(head)
    if marked is not None:
        return _require(file, TextEncoding(marked[0], marked[1]), "its byte order mark")
    utf16 = utf16_without_bom(head)
    if utf16 is not None:
        return _require(file, TextEncoding(utf16), "UTF-16")
    codec = _known(declared_charset(head)) if html else None
    if codec is not None and _read(file, codec).printable:
        return TextEncoding(codec)
    utf8 = _read(file, "utf-8")
    if utf8.printable:
        return TextEncoding("utf-8")
    if utf8.failed_at is None:
        raise UndecodableText("the file holds control characters: it is not text", field="file")
    if _read(file, WESTERN).western:
        return TextEncoding(WESTERN)
    best = _detected(_sample(file, utf8.failed_at))
    if best is None:
        raise UndecodableText(
            "the text encoding of the file cannot be told with confidence; "
            "save it as UTF-8 and upload it again",
            field="file",
        )
    if not _read(file, best.encoding).printable:
        raise UndecodableText(
            f"the file does not decode as {best.encoding} throughout; "
            "save it as UTF-8 and upload it again",
            field="file",
        )
    return TextEncoding(best.encoding)


def require_text(file: BinaryIO, *, html: bool = False) -> TextEncoding:
    """`detect_encoding`, and refuses a plain-text file (not `html`: its text is only known
    after parsing) that holds nothing but white space and zero-width marks, so it is
    refused at upload like an empty file instead of failing `empty_text` in the worker.
    Reads until the first visible character. Raises `UndecodableText`, `InvalidInput`.
    """
    encoding = detect_encoding(file, html=html)
    if not html:
        visible = any(_VISIBLE.search(block) for block in decoded_blocks(file, encoding))
        file.seek(0)
        if not visible:
            raise InvalidInput(
                "the file holds only blank space: there is no text to learn from", field="file"
            )
    return encoding


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML head declares in `<meta charset>` or `http-equiv`, if any."""
    match = _META_CHARSET.search(head[:SNIFF_HEAD_BYTES])
    return match[1].decode("ascii") if match else None


def decoded_blocks(file: BinaryIO, encoding: TextEncoding) -> Iterator[str]:
    """The file's text, decoded block by block (strictly: a bad byte raises
    `UndecodableText`), newlines normalised to `\\n`."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="strict")
    file.seek(encoding.offset)
    pending_cr = False
    try:
        while block := file.read(BLOCK_BYTES):
            text = decoder.decode(block)
            if pending_cr:
                text = "\r" + text
            pending_cr = text.endswith("\r")
            if pending_cr:
                text = text[:-1]
            yield text.replace("\r\n", "\n").replace("\r", "\n")
        tail = decoder.decode(b"", final=True) + ("\r" if pending_cr else "")
    except UnicodeDecodeError as exc:
        raise UndecodableText(f"the file is not valid {encoding.codec} text", field="file") from exc
    if tail:
        yield tail.replace("\r\n", "\n").replace("\r", "\n")


def open_text(path: Path, max_bytes: int, *, html: bool = False) -> TextEncoding:
    """The encoding of the text file at `path`, refusing one over `max_bytes`; `html`
    lets the page's own `<meta charset>` count as evidence.

    Raises `ExtractionFailed`: `too_large`, `corrupt_file` (unreadable) or
    `undecodable_text`.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ExtractionFailed(f"file of {size} bytes exceeds {max_bytes}", reason=TOO_LARGE)
        with path.open("rb") as file:
            return detect_encoding(file, html=html)
    except UndecodableText as exc:
        raise ExtractionFailed(exc.message, reason=UNDECODABLE_TEXT) from exc
    except OSError as exc:
        raise ExtractionFailed("file cannot be read", reason=CORRUPT_FILE) from exc


def decoded_text(path: Path, encoding: TextEncoding) -> Iterator[str]:
    """Blocks of the file's text; `undecodable_text` if a byte does not decode."""
    try:
        with path.open("rb") as file:
            yield from decoded_blocks(file, encoding)
    except UndecodableText as exc:
        raise ExtractionFailed(exc.message, reason=UNDECODABLE_TEXT) from exc
    except OSError as exc:
        raise ExtractionFailed("file cannot be read", reason=CORRUPT_FILE) from exc


def _require(file: BinaryIO, encoding: TextEncoding, evidence: str) -> TextEncoding:
    if not _read(file, encoding.codec, encoding.offset).printable:
        raise UndecodableText(
            f"the file is not the {encoding.codec} text {evidence} says it is", field="file"
        )
    return encoding


def _read(file: BinaryIO, codec: str, offset: int = 0) -> _Reading:
    """One strict pass over the file with `codec`, counting what plausibility needs."""
    reading = _Reading()
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    file.seek(offset)
    position = offset
    try:
        while block := file.read(BLOCK_BYTES):
            _count(reading, decoder.decode(block))
            position += len(block)
        _count(reading, decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        reading.failed_at = max(0, position + exc.start)
    finally:
        file.seek(0)
    return reading


def _count(reading: _Reading, text: str) -> None:
    reading.characters += len(text)
    reading.controls += len(_CONTROLS.findall(text))
    reading.letters += len(_LETTERS.findall(text))
    reading.non_ascii_letters += len(_NON_ASCII_LETTERS.findall(text))


def _sample(file: BinaryIO, around: int) -> bytes:
    """Bytes from a little before the first one that is not UTF-8: what tells code
    pages apart is there, not in the ASCII around it."""
    start = max(0, around - _DETECTOR_SAMPLE_BYTES // 8)
    file.seek(start)
    sample = file.read(_DETECTOR_SAMPLE_BYTES)
    file.seek(0)
    return sample


def _detected(sample: bytes) -> charset_normalizer.models.CharsetMatch | None:
    """charset-normalizer's pick when it has evidence enough and is confident in it."""
    if len(sample) - len(sample.translate(None, _HIGH_BYTES)) < _MIN_DETECTOR_EVIDENCE_BYTES:
        return None
    best = charset_normalizer.from_bytes(sample).best()
    if best is None or best.chaos > _MAX_CHAOS or best.language == "Unknown":
        return None
    return best


def _known(charset: str | None) -> str | None:
    """The codec of a declared charset; Latin-1 and ASCII labels mean Windows-1252, as
    browsers read them (WHATWG Encoding Standard)."""
    if charset is None:
        return None
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    return WESTERN if name in {"iso8859-1", "latin-1", "ascii"} else name
