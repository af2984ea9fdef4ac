"""The guide's code blocks, as the example runner sees them.

Convention (stated for writers in docs/guide/README.md):

- a fenced block whose info string is `<language> example` (`bash`, `python`,
  `javascript`) is executed, in document order (files sorted by name), against a live
  server; state travels in environment variables: whatever a bash example `export`s is
  in the environment of every later example;
- `<language> file=NAME` is written to NAME in the examples' working directory, for a
  later example to run (a webhook receiver, say);
- `bash runner-provided` is shown to readers but performed by the runner itself
  (`just run`: the runner starts its own API server and worker);
- any other block of those languages is an error: an example that nobody runs drifts;
- `text output`, the next block after an executed example, is what that example
  printed: the runner checks it line by line (`output_mismatch`), `…` standing for any
  text within a line, and a line of `…` alone for any number of lines.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

GUIDE_DIR = Path(__file__).resolve().parents[2] / "docs" / "guide"
LANGUAGES = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
LANGUAGES |= {"javascript": "javascript", "js": "javascript"}
RUNNER_PROVIDED = {"just run"}
"""The only commands a reader runs that the runner does for them."""

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    tags: tuple[str, ...]
    code: str

    @property
    def runnable_language(self) -> str | None:
        return LANGUAGES.get(self.language)

    @property
    def executed(self) -> bool:
        return self.runnable_language is not None and "example" in self.tags

    @property
    def file_name(self) -> str | None:
        for tag in self.tags:
            if tag.startswith("file="):
                return tag.removeprefix("file=")
        return None

    @property
    def shows_output(self) -> bool:
        return "output" in self.tags

    @property
    def label(self) -> str:
        return f"{self.path.name}:{self.line}:{self.language}"


def guide_files(directory: Path = GUIDE_DIR) -> list[Path]:
    return sorted(directory.glob("*.md"))


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the line its fence opens on."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index].strip())
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        info = opening["info"].split()
        body: list[str] = []
        start = index + 1
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        found.append(
            Block(
                path=path,
                line=start,
                language=info[0].lower() if info else "",
                tags=tuple(info[1:]),
                code="\n".join(body) + "\n",
            )
        )
    return found


def guide_blocks(directory: Path = GUIDE_DIR) -> list[Block]:
    return [block for path in guide_files(directory) for block in blocks_of(path)]


def shown_output(blocks: list[Block], example: Block) -> Block | None:
    """The `output` block shown for `example`: the next block of its file, if tagged so."""
    index = blocks.index(example)
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    if following is None or following.path != example.path or not following.shows_output:
        return None
    return following


ELLIPSIS = "…"


def _pattern(shown: str) -> re.Pattern[str]:
    parts: list[str] = []
    for line in shown.splitlines():
        if line.strip() == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = (re.escape(piece) for piece in line.rstrip().split(ELLIPSIS))
            parts.append(r"[^\n]*?".join(pieces) + r"\n")
    return re.compile("".join(parts))


def _normalised(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def output_mismatch(shown: str, actual: str) -> str | None:
    """None when `actual` (an example's output) is what `shown` shows, trailing spaces
    aside; else a diff of the two. See the module docstring for `…`."""
    if _pattern(shown).fullmatch(_normalised(actual)):
        return None
    diff = difflib.unified_diff(
        _normalised(shown).splitlines(), _normalised(actual).splitlines(), "shown", "printed"
    )
    return "\n".join(diff)
