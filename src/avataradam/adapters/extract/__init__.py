"""Text extraction adapters of the `TextExtractor` port, one per accepted file type."""

from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.extract.encoding import TextEncoding, detect_encoding, require_text
from avataradam.adapters.extract.html import HtmlTextExtractor
from avataradam.adapters.extract.pdf import PypdfTextExtractor
from avataradam.adapters.extract.plain import PlainTextExtractor
from avataradam.adapters.extract.word import DocxTextExtractor

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
