from __future__ import annotations

import time
import zipfile
from pathlib import Path

import docx
import pytest

from avataradam.adapters.extract import DocxTextExtractor
from avataradam.domain.codes import CORRUPT_FILE, EMPTY_TEXT, TOO_LARGE
from avataradam.domain.filetypes import DOCX
from avataradam.domain.ports.knowledge import ExtractionFailed
from tests.fixtures import case_file
from tests.fixtures.hostile import docx_with_document_xml, docx_zip_bomb, write_docx
from tests.fixtures.wordml import paragraph, picture, text_box, wordml_docx

PLAYBOOK = [
    ("Normal", "Read this before your first deal."),
    ("Title", "F&I Playbook"),
    ("Normal", "Welcome to the desk."),
    ("Heading 1", "Price objections"),
    ("Normal", "Acknowledge the concern, then reframe the monthly cost."),
    ("table", "GAP|Covers the loan gap"),
    ("Heading 2", "Service contracts"),
    ("Normal", "Explain repair costs after the factory warranty."),
]


def _reason(extractor: DocxTextExtractor, path: Path) -> str:
    with pytest.raises(ExtractionFailed) as failure:
        list(extractor.extract(path, DOCX).sections)
    return failure.value.reason


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    return write_docx(tmp_path / "playbook.docx", PLAYBOOK)


def test_docx_is_split_into_sections_named_by_their_heading(playbook: Path) -> None:
    sections = list(DocxTextExtractor().extract(playbook, DOCX).sections)

    assert [section.section for section in sections] == [
        None,
        "F&I Playbook",
        "Price objections",
        "Service contracts",
    ]
    assert sections[0].text == "Read this before your first deal."
    assert sections[2].text.startswith("Price objections\nAcknowledge the concern")
    assert all(section.page is None for section in sections)


def test_docx_table_cells_are_kept_in_their_section(playbook: Path) -> None:
    sections = list(DocxTextExtractor().extract(playbook, DOCX).sections)

    price = next(section for section in sections if section.section == "Price objections")
    assert "GAP | Covers the loan gap" in price.text


def test_docx_zip_bomb_is_refused_before_parsing(playbook: Path, tmp_path: Path) -> None:
    bomb = docx_zip_bomb(playbook, tmp_path / "bomb.docx", inflated_mib=64)
    assert bomb.stat().st_size < 1024 * 1024

    started = time.monotonic()
    reason = _reason(DocxTextExtractor(), bomb)

    assert reason == TOO_LARGE
    assert time.monotonic() - started < 1


def test_docx_declaring_more_uncompressed_bytes_than_allowed_is_too_large(
    playbook: Path,
) -> None:
    assert _reason(DocxTextExtractor(max_uncompressed_bytes=10_000), playbook) == TOO_LARGE


def test_docx_with_too_many_entries_is_too_large(playbook: Path) -> None:
    assert _reason(DocxTextExtractor(max_entries=3), playbook) == TOO_LARGE


def test_truncated_docx_is_corrupt(playbook: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(playbook.read_bytes()[:1500])
    assert _reason(DocxTextExtractor(), truncated) == CORRUPT_FILE


def test_zip_without_a_word_document_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a word file")
    assert _reason(DocxTextExtractor(), path) == CORRUPT_FILE


def test_docx_without_text_fails_as_empty(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "blank.docx", [("Normal", "   ")])
    assert _reason(DocxTextExtractor(), path) == EMPTY_TEXT


def test_docx_with_entity_expansion_does_not_expand(playbook: Path, tmp_path: Path) -> None:
    entities = "".join(f'<!ENTITY e{level} "{f"&e{level - 1};" * 10}">' for level in range(1, 10))
    document_xml = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY e0 "lol">'
        + entities
        + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&e9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    path = docx_with_document_xml(playbook, tmp_path / "laughs.docx", document_xml)

    started = time.monotonic()
    with pytest.raises(ExtractionFailed) as failure:
        list(DocxTextExtractor().extract(path, DOCX).sections)

    assert failure.value.reason in {CORRUPT_FILE, EMPTY_TEXT}
    assert time.monotonic() - started < 2


# Every container kind Word stores text in (issue 12): each one is found, in reading
# order; what a reader does not see is not.


def _text(path: Path) -> str:
    return "\n".join(section.text for section in DocxTextExtractor().extract(path, DOCX).sections)


def _body(tmp_path: Path, body: str, **parts: object) -> str:
    return _text(wordml_docx(tmp_path / "kind.docx", body, **parts))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "markers", "absent"),
    [
        ("01-content-control.docx", ["QUOKKA-SDT-7731"], []),
        ("02-tracked-insertion.docx", ["KIWI-INS-4410"], ["DELETED-WORDS-0000"]),
        ("03-text-box.docx", ["TAPIR-TXBX-5521"], []),
        ("04-nested-table.docx", ["OTTER-TBL-3310", "LYNX-NEST-9902"], []),
    ],
)
def test_case_files_yield_their_marker_and_not_their_deleted_words(
    name: str, markers: list[str], absent: list[str]
) -> None:
    text = _text(case_file(name))

    for marker in markers:
        assert text.count(marker) == 1, text
    for word in absent:
        assert word not in text


def test_inline_block_row_and_cell_content_controls_are_read(tmp_path: Path) -> None:
    body = (
        '<w:p><w:r><w:t xml:space="preserve">Cap is </w:t></w:r>'
        "<w:sdt><w:sdtPr/><w:sdtContent><w:r><w:t>INLINE-1</w:t></w:r></w:sdtContent></w:sdt>"
        "</w:p>"
        f"<w:sdt><w:sdtContent>{paragraph('BLOCK-2')}</w:sdtContent></w:sdt>"
        "<w:tbl><w:sdt><w:sdtContent><w:tr><w:tc>"
        f"{paragraph('ROW-3')}</w:tc><w:sdt><w:sdtContent><w:tc>{paragraph('CELL-4')}</w:tc>"
        "</w:sdtContent></w:sdt></w:tr></w:sdtContent></w:sdt></w:tbl>"
    )
    assert _body(tmp_path, body) == "Cap is INLINE-1\nBLOCK-2\nROW-3 | CELL-4"


def test_a_content_control_still_showing_its_placeholder_is_not_text(tmp_path: Path) -> None:
    body = (
        "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
        f"{paragraph('Click here to enter text.')}</w:sdtContent></w:sdt>"
        f"{paragraph('Filled in body.')}"
    )
    assert _body(tmp_path, body) == "Filled in body."


def test_tracked_insertions_and_moves_to_are_read_deletions_and_moves_from_are_not(
    tmp_path: Path,
) -> None:
    body = (
        "<w:p><w:ins><w:r><w:t>INSERTED </w:t></w:r></w:ins>"
        "<w:del><w:r><w:delText>DELETED </w:delText></w:r></w:del>"
        "<w:moveFrom><w:r><w:t>MOVED-AWAY </w:t></w:r></w:moveFrom>"
        "<w:moveTo><w:r><w:t>MOVED-HERE</w:t></w:r></w:moveTo></w:p>"
        "<w:tbl><w:tr><w:trPr><w:del/></w:trPr><w:tc>"
        f"{paragraph('DELETED-ROW')}</w:tc></w:tr><w:tr><w:tc>{paragraph('KEPT-ROW')}</w:tc>"
        "</w:tr></w:tbl>"
    )
    assert _body(tmp_path, body) == "INSERTED MOVED-HERE\nKEPT-ROW"


def test_field_results_are_read_and_field_instructions_are_not(tmp_path: Path) -> None:
    def complex_field(instruction: str, result: str) -> str:
        return (
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f"<w:r><w:instrText>{instruction}</w:instrText></w:r>"
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            f"<w:r><w:t>{result}</w:t></w:r>"
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )

    body = (
        '<w:p><w:fldSimple w:instr=" DOCPROPERTY Dealer "><w:r><w:t>SIMPLE-RESULT</w:t>'
        "</w:r></w:fldSimple></w:p>"
        f"<w:p>{complex_field(' HYPERLINK &quot;https://x.example&quot; ', 'LINK-RESULT')}</w:p>"
        # a field nested in another's instruction, and a table of contents over paragraphs
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f"<w:r><w:instrText> IF </w:instrText></w:r>{complex_field(' PAGE ', 'INNER')}"
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>OUTER-RESULT</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> TOC \\o '
        '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        "<w:r><w:t>TOC-LINE-1</w:t></w:r></w:p>"
        '<w:p><w:r><w:t>TOC-LINE-2</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    text = _body(tmp_path, body)

    assert text == "SIMPLE-RESULT\nLINK-RESULT\nOUTER-RESULT\nTOC-LINE-1\nTOC-LINE-2"


def test_hyperlink_smart_tag_custom_xml_and_bidi_text_is_read(tmp_path: Path) -> None:
    body = (
        '<w:p><w:hyperlink r:id="rIdLink1"><w:r><w:t>LINK </w:t></w:r></w:hyperlink>'
        '<w:smartTag w:uri="urn:x" w:element="place"><w:r><w:t>TAG </w:t></w:r></w:smartTag>'
        '<w:dir w:val="rtl"><w:r><w:t>RTL</w:t></w:r></w:dir></w:p>'
        f'<w:customXml w:element="clause">{paragraph("CUSTOM-BLOCK")}</w:customXml>'
    )
    text = _body(tmp_path, body, hyperlinks=["https://dealer.example/rates"])

    assert text == "LINK TAG RTL\nCUSTOM-BLOCK"


def test_a_text_box_is_read_once_after_its_paragraph(tmp_path: Path) -> None:
    body = (
        f"<w:p><w:r><w:t>Before the box.</w:t></w:r>{text_box('BOX-TEXT')}</w:p>"
        f"{paragraph('After the box.')}"
    )
    text = _body(tmp_path, body)

    assert text == "Before the box.\nBOX-TEXT\nAfter the box."


def test_a_vml_only_text_box_and_one_in_a_table_cell_are_read(tmp_path: Path) -> None:
    vml = (
        "<w:r><w:pict><v:shape><v:textbox><w:txbxContent>{}</w:txbxContent></v:textbox>"
        "</v:shape></w:pict></w:r>"
    )
    body = (
        f"<w:p>{vml.format(paragraph('VML-BOX'))}</w:p>"
        f"<w:tbl><w:tr><w:tc><w:p>{text_box('CELL-BOX')}</w:p></w:tc></w:tr></w:tbl>"
    )
    assert _body(tmp_path, body) == "VML-BOX\nCELL-BOX"


def test_tables_nested_three_deep_and_merged_cells_are_read_once(tmp_path: Path) -> None:
    def table(*cells: str) -> str:
        return (
            "<w:tbl><w:tr>" + "".join(f"<w:tc>{cell}</w:tc>" for cell in cells) + "</w:tr></w:tbl>"
        )

    deepest = table(paragraph("DEPTH-3"))
    body = (
        table(paragraph("DEPTH-1"), table(paragraph("DEPTH-2"), deepest + "<w:p/>") + "<w:p/>")
        + '<w:tbl><w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>'
        f"{paragraph('MERGED')}</w:tc></w:tr><w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/>"
        "</w:tc></w:tr></w:tbl>"
    )
    text = _body(tmp_path, body)

    assert text == "DEPTH-1 | DEPTH-2 | DEPTH-3\nMERGED"
    assert text.count("MERGED") == 1


def test_hidden_text_and_symbol_glyphs_are_skipped_tabs_and_breaks_kept(tmp_path: Path) -> None:
    body = (
        "<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>HIDDEN</w:t></w:r>"
        '<w:r><w:rPr><w:vanish w:val="false"/></w:rPr><w:t>SHOWN</w:t></w:r>'
        "<w:r><w:tab/><w:t>TABBED</w:t><w:br/><w:t>BROKEN</w:t><w:noBreakHyphen/>"
        '<w:t>HYPHEN</w:t><w:sym w:font="Wingdings" w:char="F0E0"/></w:r></w:p>'
    )
    assert _body(tmp_path, body) == "SHOWN\tTABBED\nBROKEN-HYPHEN"


def test_math_text_is_read(tmp_path: Path) -> None:
    body = (
        '<w:p><w:r><w:t xml:space="preserve">Payment </w:t></w:r><m:oMath><m:r><m:t>P=L'
        "</m:t></m:r><m:f><m:num><m:r><m:t>r</m:t></m:r></m:num><m:den><m:r><m:t>n</m:t>"
        "</m:r></m:den></m:f></m:oMath></w:p>"
    )
    assert _body(tmp_path, body) == "Payment P=Lrn"


def test_headers_and_footers_are_read_once_each_notes_after_the_body(tmp_path: Path) -> None:
    footnotes = (
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
        '</w:footnote><w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r>'
        "<w:continuationSeparator/></w:r></w:p></w:footnote>"
        '<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t>FOOTNOTE-TEXT</w:t>'
        "</w:r></w:p></w:footnote>"
    )
    path = wordml_docx(
        tmp_path / "margins.docx",
        '<w:p><w:r><w:t>Body</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>',
        headers=[paragraph("DEALER HEADER"), paragraph("DEALER  HEADER"), "<w:p/>"],
        footers=[paragraph("PAGE FOOTER"), paragraph("FIRST PAGE FOOTER")],
        footnotes=footnotes,
        endnotes=f'<w:endnote w:id="1">{paragraph("ENDNOTE-TEXT")}</w:endnote>',
    )

    sections = list(DocxTextExtractor().extract(path, DOCX).sections)

    assert [(s.section, s.text) for s in sections] == [
        ("Header", "DEALER HEADER"),
        (None, "Body"),
        ("Footnotes", "FOOTNOTE-TEXT"),
        ("Endnotes", "ENDNOTE-TEXT"),
        ("Footer", "PAGE FOOTER\nFIRST PAGE FOOTER"),
    ]


def test_pictures_charts_objects_and_embedded_documents_are_counted_in_warnings(
    tmp_path: Path,
) -> None:
    body = (
        f"<w:p>{picture('a car')}{picture()}<w:r><w:t>Caption.</w:t></w:r></w:p>"
        '<w:p><w:r><w:drawing><wp:inline><a:graphic><a:graphicData><c:chart r:id="rIdC"/>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
        '<w:p><w:r><w:object><o:OLEObject ProgID="Excel.Sheet.12"/></w:object></w:r></w:p>'
        '<w:altChunk r:id="rIdChunk"/>'
    )
    extraction = DocxTextExtractor().extract(wordml_docx(tmp_path / "p.docx", body), DOCX)

    assert [section.text for section in extraction.sections] == ["Caption."]
    assert sorted(extraction.warnings) == [
        "1 chart skipped",
        "1 embedded document skipped",
        "1 embedded object skipped",
        "2 images without text skipped",
    ]


def test_headings_by_style_inheritance_and_outline_level_name_sections(tmp_path: Path) -> None:
    body = (
        paragraph("Intro.")
        + paragraph("Styled heading", style="Heading2")
        + paragraph("Under the styled heading.")
        + '<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Outlined</w:t></w:r></w:p>'
        + paragraph("Under the outline.")
    )
    sections = list(
        DocxTextExtractor().extract(wordml_docx(tmp_path / "h.docx", body), DOCX).sections
    )

    assert [(s.section, s.text) for s in sections] == [
        (None, "Intro."),
        ("Styled heading", "Styled heading\nUnder the styled heading."),
        ("Outlined", "Outlined\nUnder the outline."),
    ]


def test_the_documents_own_title_names_it(playbook: Path, tmp_path: Path) -> None:
    document = docx.Document(str(playbook))
    document.core_properties.title = "  F&I   Playbook 2026 "
    document.save(str(tmp_path / "titled.docx"))

    extraction = DocxTextExtractor().extract(tmp_path / "titled.docx", DOCX)

    assert extraction.title == "F&I Playbook 2026"
    assert DocxTextExtractor().extract(playbook, DOCX).title is None
