"""The guide cannot drift silently: every runnable block is executed, every problem code
and every setting is documented, and its links resolve. No services needed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from avataradam.entrypoints.http import problems
from avataradam.entrypoints.settings import env_variable_names
from tests.docs.guide import (
    GUIDE_DIR,
    RUNNER_PROVIDED,
    blocks_of,
    guide_blocks,
    guide_files,
    output_mismatch,
    shown_output,
)

ROOT = GUIDE_DIR.parents[1]
SOURCE = ROOT / "src" / "avataradam"
_CLASS_CODE = re.compile(r'^\s+code = "(\w+)"', re.MULTILINE)
_CODE_ARGUMENT = re.compile(r'\bcode="(\w+)"')
_REASON_CONSTANT = re.compile(r'^[A-Z_]+: Final = "(\w+)"', re.MULTILINE)
_LINK = re.compile(r"\]\((?!https?://|#)([^)#\s]+)(?:#[^)]*)?\)")


def _gen_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config", ROOT / "docs" / "gen_config.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _codes_in_source() -> set[str]:
    """Every error code the service can produce: error classes' `code`, codes passed as
    `code="…"` (failed documents), extraction reasons, and the HTTP-level codes."""
    codes: set[str] = set(problems.PROBLEMS)
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes |= set(_CLASS_CODE.findall(text)) | set(_CODE_ARGUMENT.findall(text))
    limits = (SOURCE / "adapters" / "extract" / "limits.py").read_text(encoding="utf-8")
    return codes | set(_REASON_CONSTANT.findall(limits))


def test_fences_are_parsed_with_language_tags_and_opening_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```bash example\necho hi\n```\n\ntext\n\n"
        "```python file=r.py\nprint(1)\n```\n\n````text\n```\n````\n",
        encoding="utf-8",
    )
    first, second, third = blocks_of(page)
    assert (first.language, first.tags, first.line, first.executed) == (
        "bash",
        ("example",),
        3,
        True,
    )
    assert first.code == "echo hi\n"
    assert (second.file_name, second.executed) == ("r.py", False)
    assert (third.language, third.code) == ("text", "```\n")


def test_every_block_of_a_runnable_language_is_executed_or_used() -> None:
    blocks = guide_blocks()
    executed_code = [b.code for b in blocks if b.executed]
    for index, block in enumerate(blocks):
        if block.runnable_language is None or block.executed:
            continue
        if block.file_name is not None:
            later = "".join(b.code for b in blocks[index + 1 :] if b.executed)
            assert block.file_name in later, f"{block.label}: {block.file_name} is never run"
        elif "runner-provided" in block.tags:
            assert block.code.strip() in RUNNER_PROVIDED, f"{block.label} is not runner-provided"
        else:
            pytest.fail(f"{block.label}: a {block.language} block nobody runs; tag it `example`")
    assert executed_code


def test_every_shown_output_follows_an_executed_example() -> None:
    blocks = guide_blocks()
    for index, block in enumerate(blocks):
        if not block.shows_output:
            continue
        example = blocks[index - 1] if index else None
        assert example is not None, f"{block.label}: output of nothing"
        assert example.executed, f"{block.label}: output of a block nobody runs"
        assert shown_output(blocks, example) == block


def test_shown_output_matches_printed_lines_with_ellipses_for_what_varies() -> None:
    shown = "scored: … of 100\n…\nrubric fi-office v1\n"
    assert output_mismatch(shown, "scored: 72 of 100\nrubric fi-office v1\n") is None
    assert output_mismatch(shown, "scored: 72 of 100  \na\nb\nrubric fi-office v1") is None
    assert output_mismatch(shown, "scored: 72 of 100\nrubric fi-office v2\n") is not None
    assert output_mismatch(shown, "scored: 72\nof 100\nrubric fi-office v1\n") is not None
    assert output_mismatch("a\n", "a\nb\n") is not None, "an unshown line is a mismatch"
    assert "+b" in (output_mismatch("a\n", "a\nb\n") or "")


def test_examples_exist_in_every_language_and_cover_the_first_request_path() -> None:
    executed = [b for b in guide_blocks() if b.executed]
    languages = {b.runnable_language for b in executed}
    assert languages == {"bash", "python", "javascript"}
    quickstart = "".join(b.code for b in executed if b.path.name.startswith("01-"))
    for step in ("create-admin", "/v1/auth/token", "/v1/documents", "$DOC_ID", "/v1/search"):
        assert step in quickstart, f"the quickstart does not execute {step}"
    assert "text/event-stream" in quickstart
    assert "webhook-signature" in "".join(b.code for b in guide_blocks())


def test_errors_chapter_names_every_code_the_service_can_produce() -> None:
    chapter = (GUIDE_DIR / "07-errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(\w+)`", chapter))
    missing = sorted(_codes_in_source() - documented)
    assert not missing, f"undocumented error codes: {missing}"


def test_configuration_reference_is_generated_from_the_current_settings() -> None:
    gen_config = _gen_config()
    committed = gen_config.TARGET.read_text(encoding="utf-8")
    assert gen_config.render(committed) == committed, "run: python docs/gen_config.py"
    for name in env_variable_names().values():
        assert f"| `{name}` |" in committed


def test_a_setting_without_a_meaning_stops_the_generator() -> None:
    gen_config = _gen_config()
    name = next(iter(gen_config.MEANINGS))
    del gen_config.MEANINGS[name]
    with pytest.raises(SystemExit, match=name):
        gen_config.render_table()


def test_relative_links_of_the_guide_resolve() -> None:
    for path in [*guide_files(), ROOT / "README.md"]:
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
