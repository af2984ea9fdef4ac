"""Machine payloads are stripped and passages that are not language dropped, in every
text format, with a warning saying so; prose is never touched."""

from __future__ import annotations

import base64
import io
import random
import textwrap
from pathlib import Path

import pypdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.extract import CompositeTextExtractor
from avataradam.adapters.extract.prose import drop_non_language, is_language, strip_payloads
from avataradam.domain.codes import EMPTY_TEXT
from avataradam.domain.filetypes import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT
from avataradam.domain.ports.knowledge import Extraction, ExtractionFailed
from tests.fixtures import case_file
from tests.fixtures.hostile import text_pdf, write_docx

PROSE = "Road hazard coverage pays for tires and wheels damaged by potholes."
STRIPPED = "1 embedded data payload (data URI, base64, hex or key) stripped"


def _payload(size: int, seed: int = 1) -> str:
    """Base64 of reproducible random bytes, like an inlined image."""
    return base64.b64encode(random.Random(seed).randbytes(size)).decode()  # noqa: S311


def _extract(tmp_path: Path, data: bytes, content_type: str) -> tuple[str, Extraction]:
    path = tmp_path / "upload"
    path.write_bytes(data)
    extraction = CompositeTextExtractor.default().extract(path, content_type)
    return "\n".join(section.text for section in extraction.sections), extraction


def test_the_data_uri_case_keeps_its_prose_and_loses_its_base64() -> None:
    path = case_file("10b-data-uri.md")
    extraction = CompositeTextExtractor.default().extract(path, MARKDOWN)

    text = "\n".join(section.text for section in extraction.sections)

    assert "WALRUS-B64-4471" in text
    assert "WALRUS-B64-4472" in text
    assert len(text) < 300
    assert "base64" not in text
    assert STRIPPED in extraction.warnings


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (f"![chart](data:image/png;base64,{_payload(600)})", "markdown data URI"),
        (f'<a href="data:application/pdf;base64,{_payload(90)}">x</a>', "data URI, no image"),
        (f"data:text/plain;charset=utf-8,{'%20hello' * 20}", "percent-encoded data URI"),
        (_payload(3000), "one line of base64"),
        ("\n".join(textwrap.wrap(_payload(900), 76)), "MIME base64 wrapped at 76"),
        (_payload(300).replace("+", "-").replace("/", "_"), "base64url"),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + "\n".join(textwrap.wrap(_payload(300), 64))
            + "\n-----END CERTIFICATE-----",
            "PEM certificate",
        ),
        ("0x" + random.Random(2).randbytes(64).hex(), "hex run"),  # noqa: S311
        (" ".join(f"{b:02x}" for b in range(48)), "hex dump"),
        (":".join(f"{b:02X}" for b in range(40, 80)), "colon-separated hex"),
    ],
)
def test_each_kind_of_machine_payload_is_stripped_from_prose(payload: str, kind: str) -> None:
    text, removed = strip_payloads(f"{PROSE}\n\n{payload}\n\nThe deductible is zero.")

    assert removed >= 1, kind
    assert PROSE in text
    assert "The deductible is zero." in text
    assert len(text) < len(PROSE) + 60, (kind, text)


@pytest.mark.parametrize(
    "ordinary",
    [
        "/usr/local/share/dealer/forms/retail-installment-contract-2026-california.pdf",
        "https://dealer.example.com/finance/menu?product=gap&term=72&rate=4.9",
        "Rechtsschutzversicherungsgesellschaften und Donaudampfschifffahrt",
        "VIN 1HGCM82633A004352 and stock number 24-118-A",
        "The menu has 4 products: GAP, VSC, tire & wheel, key replacement.",
        "a" * 70,
        "SHA-256 of the form: 9f86d081884c7d659a2feaa0c55ad015",
        "data:,short",
    ],
)
def test_ordinary_text_that_looks_technical_is_kept(ordinary: str) -> None:
    assert strip_payloads(ordinary) == (ordinary, 0)


@pytest.mark.parametrize(
    "language",
    [
        PROSE,
        "轮胎保修涵盖道路危险造成的损坏。感谢您从我们的经销商处购买汽车\uff0c祝您一路平安。" * 3,
        "ประกันยางรถยนต์ครอบคลุมความเสียหายจากอันตรายบนท้องถนนทั้งหมดขอบคุณที่ซื้อรถกับเรา" * 2,
        "حَبيبي التأمين على الإطارات يغطي الأضرار الناتجة عن مخاطر الطريق شكرا لكم",
        "Z\u0335\u0322a\u0336l\u0337g\u0338o\u0334 text with combining marks is still words here",
        "1.1 Topologische Räume . . . . . . . . . . . . . . . . . . . . . . . . . 2",
        "| Term | Rate |\n|---|---|\n| 60 | 4.9% |\n| 72 | 5.4% |\n| 84 | 6.1% |",
        "def payment(principal, rate, months):\n"
        "    return principal * rate / (1 - (1 + rate) ** -months)",
    ],
)
def test_language_in_any_script_table_or_code_is_language(language: str) -> None:
    assert is_language(language)
    assert drop_non_language(language) == (language, 0)


@pytest.mark.parametrize(
    "noise",
    [
        "x" + "Qm9vayBvZiBkZWFscw" * 40,
        "😀🚗💸🔥" * 30,
        "%$#@!&*^~" * 10,
        "=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_passages_without_words_are_dropped(noise: str) -> None:
    text, dropped = drop_non_language(f"{PROSE}\n\n{noise}\n\nThe deductible is zero.")

    assert dropped == 1
    assert text == f"{PROSE}\n\n\n\nThe deductible is zero."


def test_a_huge_paragraph_is_judged_line_by_line_and_a_huge_line_word_by_word() -> None:
    prose_lines = "\n".join([PROSE] * 40)
    noise_line = "~" * 3000
    long_line = " ".join([PROSE] * 60 + ["#" * 2500] + [PROSE] * 60)

    lines, dropped_lines = drop_non_language(f"{prose_lines}\n{noise_line}\n{prose_lines}")
    words, dropped_windows = drop_non_language(long_line)

    assert dropped_lines == 1
    assert lines.count(PROSE) == 80
    assert dropped_windows == 1
    assert words.count(PROSE) == 120
    assert "#" not in words


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (f"{PROSE}\n\n{_payload(2000)}\n".encode(), PLAIN_TEXT),
        (f"# Tires\n\n{PROSE}\n\n![x](data:image/gif;base64,{_payload(400)})\n".encode(), MARKDOWN),
        (f"<html><body><p>{PROSE}</p><p>{_payload(2000)}</p></body></html>".encode(), HTML),
    ],
)
def test_every_text_format_strips_payloads_and_says_so(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    text, extraction = _extract(tmp_path, data, content_type)

    assert PROSE in text
    assert len(text) < len(PROSE) + 40
    assert STRIPPED in extraction.warnings


def test_docx_and_pdf_text_strip_payloads_and_say_so(tmp_path: Path) -> None:
    word = write_docx(tmp_path / "w.docx", [("Normal", PROSE), ("Normal", _payload(1500))])
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf(PROSE)))
    writer.append(pypdf.PdfReader(io.BytesIO(text_pdf("0x" + "ab12" * 40))))
    buffer = io.BytesIO()
    writer.write(buffer)

    for data, content_type in ((word.read_bytes(), DOCX), (buffer.getvalue(), PDF)):
        text, extraction = _extract(tmp_path, data, content_type)
        assert text == PROSE
        assert STRIPPED in extraction.warnings


def test_a_dropped_passage_is_named_in_the_warnings(tmp_path: Path) -> None:
    _, extraction = _extract(tmp_path, f"{PROSE}\n\n{'@#%' * 40}\n".encode(), PLAIN_TEXT)

    assert extraction.warnings == ["1 passage without words (not language) dropped"]


def test_a_file_of_nothing_but_payload_is_empty_and_says_why(tmp_path: Path) -> None:
    with pytest.raises(ExtractionFailed) as failure:
        _extract(tmp_path, _payload(5000).encode(), PLAIN_TEXT)

    assert failure.value.reason == EMPTY_TEXT
    assert "stripped" in failure.value.message


_WORDS = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=14)
_PUNCTUATION = st.sampled_from([" ", " ", ", ", ". ", "; ", "\n", "\n\n", " (", ") ", " - "])


@st.composite
def prose(draw: st.DrawFn) -> str:
    parts = []
    for word in draw(st.lists(_WORDS, min_size=1, max_size=200)):
        parts += [word, draw(_PUNCTUATION)]
    number = draw(st.integers(min_value=0, max_value=10**9))
    return "".join(parts) + f" {number}"


@settings(max_examples=200, deadline=None)
@given(text=prose())
def test_prose_of_any_alphabet_passes_untouched(text: str) -> None:
    assert strip_payloads(text) == (text, 0)
    assert drop_non_language(text) == (text, 0)


@settings(max_examples=100, deadline=None)
@given(text=prose(), blob=st.binary(min_size=120, max_size=3000))
def test_base64_of_any_bytes_between_paragraphs_never_reaches_the_index(
    text: str, blob: bytes
) -> None:
    """Stripped as a payload, or (bytes of one value: "AAAA…") dropped as no language."""
    encoded = base64.b64encode(blob).decode()

    stripped, removed = strip_payloads(f"{text}\n\n{encoded}\n\n{text}")
    kept, dropped = drop_non_language(stripped)

    assert removed + dropped == 1
    assert kept == f"{text}\n\n\n\n{text}"
