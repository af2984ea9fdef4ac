"""Text extraction adapters of the `TextExtractor` port, one per accepted file type.

The PDF and Word adapters are imported on first use: pypdf and python-docx take about
half a second to import, which every API and worker process paid at start.
"""

from typing import TYPE_CHECKING

from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.extract.encoding import TextEncoding, detect_encoding, require_text
from avataradam.adapters.extract.html import HtmlTextExtractor
from avataradam.adapters.extract.plain import PlainTextExtractor

if TYPE_CHECKING:
    from avataradam.adapters.extract.pdf import PypdfTextExtractor
    from avataradam.adapters.extract.word import DocxTextExtractor


def __getattr__(name: str) -> object:
    if name == "PypdfTextExtractor":
        from avataradam.adapters.extract.pdf import PypdfTextExtractor  # noqa: PLC0415 -- on first use

        return PypdfTextExtractor
    if name == "DocxTextExtractor":
        from avataradam.adapters.extract.word import DocxTextExtractor  # noqa: PLC0415 -- on first use

        return DocxTextExtractor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CompositeTextExtractor",
    "DocxTextExtractor",
    "HtmlTextExtractor",
    "PlainTextExtractor",
    "PypdfTextExtractor",
    "TextEncoding",
    "detect_encoding",
    "require_text",
]
