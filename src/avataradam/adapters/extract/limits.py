"""The shared guards every extractor applies to untrusted files (the failure reasons
they raise are codes of the catalogue, domain/codes.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Final

from avataradam.domain.codes import CORRUPT_FILE
from avataradam.domain.ports.knowledge import ExtractionFailed, ExtractorUnavailable

DEFAULT_MAX_TEXT_CHARS: Final = 32 * 1024 * 1024
"""Text one document may yield: more than a plain-text upload at the 25 MiB limit holds
(ingestion memory no longer grows with the text; this bounds its time)."""
DEFAULT_MAX_TEXT_FILE_BYTES: Final = 50 * 1024 * 1024

# NUL cannot be stored in PostgreSQL text; other C0 controls are extraction debris.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


@contextlib.contextmanager
def parsing(
    what: str,
    *,
    missing: tuple[type[Exception], ...] = (),
    reasons: Mapping[type[Exception], tuple[str, str]] | None = None,
) -> Iterator[None]:
    """Failures of a parser on an untrusted file, told apart by whose fault they are.

    `ExtractionFailed` passes through. An `ImportError` (a module missing or broken on
    this server) or one of the library's own `missing`-dependency errors becomes
    `ExtractorUnavailable`, retried like any unavailable dependency: never the user's
    `corrupt_file`. An error listed in `reasons` fails with its (message, reason);
    anything else the parser raises on hostile input is the file's: `corrupt_file`.
    """
    unavailable: tuple[type[Exception], ...] = (ImportError, *missing)
    try:
        yield
    except ExtractionFailed:
        raise
    except unavailable as exc:
        raise ExtractorUnavailable(
            f"reading {what} needs a library this server lacks: {exc}"
        ) from exc
    except Exception as exc:  # a hostile file can make a parser raise anything
        for kind, (message, reason) in (reasons or {}).items():
            if isinstance(exc, kind):
                raise ExtractionFailed(message, reason=reason) from exc
        raise ExtractionFailed(f"{what} cannot be parsed", reason=CORRUPT_FILE) from exc
