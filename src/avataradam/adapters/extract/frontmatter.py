"""Markdown front matter: document metadata, not a passage.

A Markdown file may open with a YAML block between `---` lines (Jekyll, Hugo, Obsidian,
MkDocs; closed by `---` or `...`) or a TOML block between `+++` lines (Hugo). Renderers
do not show it, so it is not indexed; its `title` names the document. YAML is read with
PyYAML's safe loader only (no object construction), TOML with the standard `tomllib`.
A block whose YAML reads as something other than a mapping is not front matter (two
thematic breaks around prose) and stays text; a malformed block is dropped with a
warning, never an error.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import yaml

MAX_FRONT_MATTER_LINES: Final = 500
MAX_TITLE_CHARS: Final = 500
_CLOSERS = {"---": ("---", "..."), "+++": ("+++",)}


@dataclass(slots=True)
class FrontMatter:
    """What the front matter said: `title`, and `warnings` for a block that was unreadable."""

    title: str | None = None
    warnings: list[str] = field(default_factory=list)


def read_front_matter(lines: Iterator[str]) -> tuple[FrontMatter, Iterator[str]]:
    """What the front matter opening `lines` says, and the lines without it.

    Reads at most the block (`MAX_FRONT_MATTER_LINES`) ahead; `lines` end in `\\n` but
    perhaps the last.
    """
    front = FrontMatter()
    first = next(lines, None)
    if first is None:
        return front, iter(())
    closers = _CLOSERS.get(first.strip())
    if closers is None or first != first.lstrip():
        return front, itertools.chain([first], lines)
    block: list[str] = []
    for line in lines:
        if line.strip() in closers and line == line.lstrip():
            if _read(first.strip(), "".join(block), front):
                return front, lines
            return front, itertools.chain([first, *block, line], lines)
        block.append(line)
        if len(block) >= MAX_FRONT_MATTER_LINES:
            break
    return front, itertools.chain([first, *block], lines)


def _read(opener: str, block: str, front: FrontMatter) -> bool:
    """Reads a closed block into `front`; False when it is not metadata after all."""
    kind = "YAML" if opener == "---" else "TOML"
    try:
        metadata = yaml.safe_load(block) if kind == "YAML" else tomllib.loads(block)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        front.warnings.append(f"front matter is not valid {kind}: not indexed, no title read")
        return True
    if metadata is None:
        return True
    if not isinstance(metadata, dict):
        return False
    title = metadata.get("title")
    if isinstance(title, str | int | float) and not isinstance(title, bool):
        front.title = " ".join(str(title).split())[:MAX_TITLE_CHARS] or None
    return True
