"""Dispatches extraction to the adapter registered for the sniffed content type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from avataradam.adapters.extract.html import HtmlTextExtractor
from avataradam.adapters.extract.plain import PlainTextExtractor
from avataradam.domain.codes import UNSUPPORTED_TYPE
from avataradam.domain.filetypes import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT
from avataradam.domain.ports.knowledge import Extraction, ExtractionFailed, TextExtractor


class CompositeTextExtractor:
    """Implements `TextExtractor`; an unregistered type fails with `unsupported_type`."""

    def __init__(self, extractors: Mapping[str, TextExtractor]) -> None:
        self._extractors = dict(extractors)

    @classmethod
    def default(cls) -> CompositeTextExtractor:
        """Every type `sniff_content_type` accepts, with each adapter's default limits."""
        plain = PlainTextExtractor()
        return cls(
            {
                PDF: OnFirstUse(_pdf),
                DOCX: OnFirstUse(_docx),
                HTML: HtmlTextExtractor(),
                PLAIN_TEXT: plain,
                MARKDOWN: plain,
            }
        )

    def extract(self, path: Path, content_type: str) -> Extraction:
        media_type = content_type.split(";", 1)[0].strip().lower()
        extractor = self._extractors.get(media_type)
        if extractor is None:
            raise ExtractionFailed(
                f"no extractor for {media_type or 'unknown type'}", reason=UNSUPPORTED_TYPE
            )
        return extractor.extract(path, media_type)


class OnFirstUse:
    """Implements `TextExtractor` with the one `build` makes at the first extraction, so
    that its library (pypdf, python-docx: about half a second to import together) loads
    in a process only once a document of its type arrives, not at every start."""

    def __init__(self, build: Callable[[], TextExtractor]) -> None:
        self._build = build
        self._built: TextExtractor | None = None

    def extract(self, path: Path, content_type: str) -> Extraction:
        if self._built is None:
            self._built = self._build()  # two threads may both build one: either will do
        return self._built.extract(path, content_type)


def _pdf() -> TextExtractor:
    from avataradam.adapters.extract.pdf import PypdfTextExtractor  # noqa: PLC0415 -- on first use

    return PypdfTextExtractor()


def _docx() -> TextExtractor:
    from avataradam.adapters.extract.word import DocxTextExtractor  # noqa: PLC0415 -- on first use

    return DocxTextExtractor()
