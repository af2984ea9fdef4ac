"""Markdown front matter is document metadata: never a passage; its title names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from avataradam.adapters.extract import PlainTextExtractor
from avataradam.adapters.extract.frontmatter import MAX_FRONT_MATTER_LINES
from avataradam.domain.filetypes import MARKDOWN, PLAIN_TEXT
from avataradam.domain.ports.knowledge import Extraction
from tests.fixtures import case_file

BODY = "# Menu selling\n\nShow every product on one menu.\n"


def _extract(tmp_path: Path, text: str, content_type: str = MARKDOWN) -> tuple[str, Extraction]:
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    extraction = PlainTextExtractor().extract(path, content_type)
    return "\n".join(section.text for section in extraction.sections), extraction


def test_the_front_matter_case_file_names_the_document_and_indexes_only_its_body() -> None:
    extraction = PlainTextExtractor().extract(case_file("11-front-matter.md"), MARKDOWN)
    sections = list(extraction.sections)
    text = "\n".join(section.text for section in sections)

    assert extraction.title == "Menu selling basics"
    assert "ORCA-MD-8123" in text
    for metadata in ("FM-META-0042", "internal_id", "training team", "title:", "---"):
        assert metadata not in text
    assert [section.section for section in sections] == ["Menu selling", "Order"]
    assert extraction.warnings == []


@pytest.mark.parametrize(
    ("front", "title"),
    [
        ("---\ntitle: GAP basics\ntags: [gap]\n---\n", "GAP basics"),
        ("---\ntitle: 'GAP:  the   basics'\n...\n", "GAP: the basics"),
        ("---\ntitle: 2026\n---\n", "2026"),
        ("---\nauthor: someone\n---\n", None),
        ("---\ntitle: [not, a, string]\n---\n", None),
        ("---\n---\n", None),
        ('+++\ntitle = "GAP basics"\ndraft = false\n+++\n', "GAP basics"),
    ],
)
def test_yaml_and_toml_front_matter_is_metadata(
    tmp_path: Path, front: str, title: str | None
) -> None:
    text, extraction = _extract(tmp_path, front + BODY)

    assert text == BODY.strip()
    assert extraction.title == title
    assert extraction.warnings == []


@pytest.mark.parametrize(
    ("front", "kind"),
    [
        ("---\ntitle: [unclosed\n---\n", "YAML"),
        ("---\ntitle: a\n  bad: indentation: here\n---\n", "YAML"),
        ("---\n!!python/object/apply:os.system ['echo pwned']\n---\n", "YAML"),
        ('+++\ntitle = "unterminated\n+++\n', "TOML"),
    ],
)
def test_malformed_or_unsafe_front_matter_is_a_warning_not_a_crash(
    tmp_path: Path, front: str, kind: str
) -> None:
    text, extraction = _extract(tmp_path, front + BODY)

    assert text == BODY.strip()
    assert extraction.title is None
    assert extraction.warnings == [f"front matter is not valid {kind}: not indexed, no title read"]


def test_prose_between_two_rules_is_not_front_matter(tmp_path: Path) -> None:
    document = "---\nRead this before your first deal.\n---\n" + BODY

    text, extraction = _extract(tmp_path, document)

    assert text == document.strip()
    assert extraction.title is None


def test_an_unclosed_or_indented_block_is_text(tmp_path: Path) -> None:
    unclosed = "---\ntitle: GAP\n" + BODY
    indented = " ---\ntitle: GAP\n ---\n" + BODY

    for document in (unclosed, indented):
        text, extraction = _extract(tmp_path, document)
        assert "title: GAP" in text
        assert extraction.title is None


def test_a_block_longer_than_the_limit_is_text_not_read_to_the_end(tmp_path: Path) -> None:
    lines = "".join(f"key{number}: value\n" for number in range(MAX_FRONT_MATTER_LINES + 5))
    document = f"---\n{lines}---\n{BODY}"

    text, _ = _extract(tmp_path, document)

    assert "key0: value" in text


def test_front_matter_only_means_metadata_in_markdown(tmp_path: Path) -> None:
    document = "---\ntitle: GAP basics\n---\n" + BODY

    text, extraction = _extract(tmp_path, document, PLAIN_TEXT)

    assert "title: GAP basics" in text
    assert extraction.title is None


def test_a_yaml_bomb_of_aliases_is_read_without_expanding(tmp_path: Path) -> None:
    aliases = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        aliases.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    document = "---\n" + "\n".join(aliases) + "\ntitle: Bomb\n---\n" + BODY

    text, extraction = _extract(tmp_path, document)

    assert extraction.title == "Bomb"
    assert text == BODY.strip()
