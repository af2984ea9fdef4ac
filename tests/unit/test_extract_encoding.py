"""Text files are decoded with the priors of this product's users, or refused.

Order of evidence: BOM, BOM-less UTF-16, HTML's own charset, UTF-8, Windows-1252 /
Latin-1, then a code page charset-normalizer is confident in; anything else is
`undecodable_text`, both at upload (415) and in the worker.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.extract import (
    CompositeTextExtractor,
    PlainTextExtractor,
    TextEncoding,
    detect_encoding,
)
from avataradam.adapters.extract.encoding import BLOCK_BYTES, decoded_blocks, require_text
from avataradam.domain.codes import UNDECODABLE_TEXT
from avataradam.domain.errors import InvalidInput, UndecodableText
from avataradam.domain.filetypes import HTML, MARKDOWN, PLAIN_TEXT, sniff_content_type
from avataradam.domain.ports.knowledge import ExtractionFailed
from tests.fixtures import case_file

CASE_TEXT = (
    "Café résumé “smart quotes” \u2013 GAP coverage explained. Marker FALCON-1252-3307 naïve."
)
FRENCH = "Café résumé “smart quotes” \u2013 garantie prolongée, reçu, naïve, déjà, coût…"
SPANISH = "¿Dónde está el señor Muñoz? ¡Año nuevo, cobertura de neumáticos! Niño, mañana."
GERMAN = "Grüße aus München: Die Reifenversicherung übernimmt Schäden an der Straße."
RUSSIAN = "Гарантия на шины покрывает повреждения от дорожных опасностей. Спасибо за покупку."
GREEK = "\u0397 εγγύηση ελαστικών καλύπτει ζημιές από κινδύνους του δρόμου. Ευχαριστούμε πολύ."
JAPANESE = "タイヤ保証は道路の危険による損傷をカバーします。ご購入ありがとうございます。"
CHINESE = "轮胎保修涵盖道路危险造成的损坏。感谢您从我们的经销商处购买汽车。"


def _noise(seed: int, size: int) -> bytes:
    """Reproducible random bytes (not a secret)."""
    return random.Random(seed).randbytes(size)  # noqa: S311


def _text(tmp_path: Path, data: bytes, content_type: str = PLAIN_TEXT) -> str:
    path = tmp_path / "upload"
    path.write_bytes(data)
    sections = CompositeTextExtractor.default().extract(path, content_type).sections
    return "\n".join(section.text for section in sections)


def _refusal(tmp_path: Path, data: bytes, content_type: str = PLAIN_TEXT) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as failure:
        _text(tmp_path, data, content_type)
    return failure.value


def test_the_cp1252_case_file_is_stored_exactly() -> None:
    [section] = list(PlainTextExtractor().extract(case_file("08c-cp1252.txt"), PLAIN_TEXT).sections)

    assert section.text == CASE_TEXT


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        (FRENCH, "cp1252"),
        (SPANISH, "cp1252"),
        (GERMAN, "latin-1"),
        (SPANISH, "latin-1"),
        (FRENCH, "utf-8"),
        ("\ufeff" + SPANISH, "utf-8"),
        ("\ufeff" + FRENCH, "utf-16-le"),
        ("\ufeff" + FRENCH, "utf-16-be"),
        ("\ufeff" + RUSSIAN, "utf-32-le"),
        ("\ufeff" + GERMAN, "utf-32-be"),
        (GERMAN, "utf-16-le"),
        (GERMAN, "utf-16-be"),
        (RUSSIAN, "cp1251"),
        (CHINESE, "gbk"),
        (GREEK, "cp1253"),
        (JAPANESE, "shift_jis"),
    ],
)
def test_each_encoding_our_users_write_is_decoded_exactly(
    tmp_path: Path, text: str, codec: str
) -> None:
    assert _text(tmp_path, text.encode(codec)) == text.removeprefix("\ufeff")


def test_spanish_cp1252_markdown_and_html_share_the_decoding(tmp_path: Path) -> None:
    markdown = f"# Cobertura\n\n{SPANISH}\n".encode("cp1252")
    page = f"<html><body><h1>Cobertura</h1><p>{SPANISH}</p></body></html>".encode("cp1252")

    assert _text(tmp_path, markdown, MARKDOWN) == f"# Cobertura\n\n{SPANISH}"
    assert _text(tmp_path, page, HTML) == f"Cobertura\n\n{SPANISH}"


def test_html_declaring_its_charset_is_read_in_it(tmp_path: Path) -> None:
    page = f'<html><head><meta charset="windows-1251"></head><body><p>{RUSSIAN}</p></body></html>'

    assert _text(tmp_path, page.encode("cp1251"), HTML) == RUSSIAN


def test_html_declaring_a_charset_its_bytes_contradict_falls_back_to_detection(
    tmp_path: Path,
) -> None:
    page = f'<html><head><meta charset="utf-8"></head><body><p>{SPANISH}</p></body></html>'

    assert _text(tmp_path, page.encode("cp1252"), HTML) == SPANISH


def test_html_declaring_latin1_is_read_as_windows_1252_as_browsers_do(tmp_path: Path) -> None:
    page = f'<html><head><meta charset="iso-8859-1"></head><body><p>{FRENCH}</p></body></html>'

    assert _text(tmp_path, page.encode("cp1252"), HTML) == FRENCH


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_noise(12, 4096), id="random bytes"),
        pytest.param(bytes(range(256)) * 8, id="every byte"),
        pytest.param(b"\xef\xbb\xbfvalid start \xff\xfe broken", id="utf-8 BOM then not UTF-8"),
        pytest.param(b"\xff\xfe" + b"a\x00" * 10 + b"\x00\xd8", id="utf-16 BOM, lone surrogate"),
        pytest.param(b"line\x01\x02\x03\x04\x05\x06\x07\x0e\x0f\x10\x11 end" * 3, id="controls"),
    ],
)
def test_bytes_that_cannot_be_decoded_with_confidence_are_refused(
    tmp_path: Path, data: bytes
) -> None:
    assert _refusal(tmp_path, data).reason == UNDECODABLE_TEXT


def test_the_refusal_tells_the_uploader_what_to_do(tmp_path: Path) -> None:
    failure = _refusal(tmp_path, _noise(3, 2048))

    assert "UTF-8" in failure.message


def test_a_non_utf8_byte_far_into_a_large_file_is_found(tmp_path: Path) -> None:
    head = b"Menu selling, one page for every product.\n" * (BLOCK_BYTES // 40 + 10)
    data = head + f"{SPANISH}\n".encode("cp1252")
    assert len(head) > BLOCK_BYTES

    text = _text(tmp_path, data)

    assert text.endswith(SPANISH)
    assert len(text) == len(data) - 1


def test_characters_and_line_breaks_split_across_blocks_are_decoded_whole() -> None:
    prefix = b"x" * (BLOCK_BYTES - 1)
    utf8 = io.BytesIO(prefix + "é\r\nnext".encode())
    utf16 = io.BytesIO(("\ufeff" + "y" * (BLOCK_BYTES // 2 - 2) + "ü\r\nok").encode("utf-16-le"))

    assert "".join(decoded_blocks(utf8, detect_encoding(utf8)))[-7:] == "xé\nnext"
    assert "".join(decoded_blocks(utf16, detect_encoding(utf16)))[-4:] == "ü\nok"


def test_detection_reports_the_codec_and_where_the_text_starts() -> None:
    assert detect_encoding(io.BytesIO(b"\xef\xbb\xbfhi")) == TextEncoding("utf-8", 3)
    assert detect_encoding(io.BytesIO("hi".encode("utf-16"))) == TextEncoding("utf-16-le", 2)
    assert detect_encoding(io.BytesIO("Grüße".encode("cp1252"))) == TextEncoding("cp1252")


def test_detection_leaves_the_file_at_its_start() -> None:
    file = io.BytesIO(SPANISH.encode("cp1252"))
    file.seek(7)

    detect_encoding(file)

    assert file.tell() == 0


def test_a_refused_file_raises_the_domain_error_the_api_maps_to_415() -> None:
    with pytest.raises(UndecodableText) as refused:
        detect_encoding(io.BytesIO(_noise(5, 1000)))

    assert refused.value.code == "undecodable_text"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bom_less_utf16_is_sniffed_as_text_at_upload(codec: str) -> None:
    assert sniff_content_type(GERMAN.encode(codec), "notes.txt") == PLAIN_TEXT
    assert sniff_content_type(f"# {GERMAN}".encode(codec), "notes.md") == MARKDOWN


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])))
def test_any_unicode_text_round_trips_through_utf8_and_utf16_with_bom(text: str) -> None:
    for data in (text.encode(), b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        file = io.BytesIO(data)
        assert "".join(decoded_blocks(file, detect_encoding(file))) == text


# Western prose: mostly ASCII words, some accented ones, typographic punctuation.
_PLAIN_WORDS = st.sampled_from(
    ["the", "coverage", "tires", "de", "la", "el", "cliente", "paga", "und", "der", "le", "prix"]
)
_ACCENTED_WORDS = st.sampled_from(
    ["garantía", "neumático", "año", "¿Qué?", "¡Sí!", "café", "résumé", "naïve", "coût", "Größe"]
)
_TYPOGRAPHY = st.sampled_from(["“cita”", "\u2013", "\u2026", "\u2018s", "\u00a0", "\u20ac5"])


@st.composite
def western_prose(draw: st.DrawFn) -> str:
    words = []
    for _ in range(draw(st.integers(min_value=1, max_value=60))):
        kind = draw(st.integers(min_value=0, max_value=5))
        strategy = _ACCENTED_WORDS if kind == 0 else _TYPOGRAPHY if kind == 1 else _PLAIN_WORDS
        words.append(draw(strategy))
    return " ".join(words)


@settings(max_examples=150, deadline=None)
@given(text=western_prose())
def test_western_text_in_cp1252_is_never_stored_as_another_code_page(text: str) -> None:
    file = io.BytesIO(text.encode("cp1252"))

    assert "".join(decoded_blocks(file, detect_encoding(file))) == text


@pytest.mark.parametrize(
    "content",
    [
        b" \n\t\r\n",
        "\u00a0\u3000\n\u2028".encode(),
        "\ufeff\u200b \n".encode("utf-16"),
        b"\xef\xbb\xbf   \n",
    ],
)
def test_a_text_of_only_blank_space_is_refused_at_the_door(content: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_text(io.BytesIO(content))
    assert refused.value.details["field"] == "file"


@pytest.mark.parametrize(
    "content", [b"\n\n  x", "  \u00a0año\n".encode("cp1252"), b" " * 5000 + b"."]
)
def test_one_visible_character_is_text_and_the_file_is_left_at_its_start(content: bytes) -> None:
    file = io.BytesIO(content)
    require_text(file)
    assert file.tell() == 0


def test_an_html_page_is_judged_after_parsing_not_at_the_door() -> None:
    require_text(io.BytesIO(b"  \n  "), html=True)
