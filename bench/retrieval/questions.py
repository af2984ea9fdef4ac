"""Labelled questions over `bench/retrieval/documents/` for the retrieval evaluation.

The questions live in three files of one format (one object a line: `type`, `text`, and
for the answerable ones `relevant` and `answer_contains`), so that someone who did not
write the documents can add or review them without touching code. Who wrote what:

- `questions.json`, author set "first": written by the documents' own author, with the
  documents;
- `questions_second.json`, author set "second": written afterwards by an independent
  author who read only the documents, not the first set (issue 16 asks for questions
  "written by someone other than the documents' author": the first set's author knew
  the wording the retrieval would meet);
- `questions_third.json`, author set "third": written by a third independent author after
  the retrieval changes of 2026-12-01, from the documents only (not the other sets, not
  the glossary or the retrieval code), Spanish only (`spanish` and `unanswerable`
  questions), never used to tune anything: a held-out measurement of the Spanish
  retrieval.

The loader sets each question's `author` from its file (the files do not hold it), and
the evaluation reports each set apart as well as all together. Each `Question` names the
documents whose passages answer it (none: nothing in the set does) and phrases of which
one appears in an answering passage (`answer_contains`, matched case-insensitively with
Markdown emphasis and extra whitespace ignored), so that the right chunk is known
whatever the chunking. Types:

- direct: in the documents' own words;
- paraphrase: the same needs in other words (a trainee's way of asking);
- acronym: only the trade's acronyms (GAP, VSC, APR, OFAC, LTV...);
- negation: what is not covered, not allowed, never said;
- spanish: natural Spanish, about the English and the Spanish documents;
- unanswerable: near-topic or off-topic questions nothing in the set answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import msgspec

Author = Literal["first", "second", "third"]
AUTHORS: Final[tuple[Author, ...]] = ("first", "second", "third")
FILES: Final[dict[Author, str]] = {
    "first": "questions.json",
    "second": "questions_second.json",
    "third": "questions_third.json",
}
"""Each author set's file in this directory."""
HELD_OUT: Final[frozenset[Author]] = frozenset({"third"})
"""Author sets that only measure: nothing chooses a setting or threshold on them
(`bench/support.py` leaves them out)."""

QuestionType = Literal["direct", "paraphrase", "acronym", "negation", "spanish", "unanswerable"]
TYPES: Final[tuple[QuestionType, ...]] = (
    "direct",
    "paraphrase",
    "acronym",
    "negation",
    "spanish",
    "unanswerable",
)

HERE: Final = Path(__file__).resolve().parent
DOCUMENTS: Final = HERE / "documents"
"""The labelled set's documents, one file each (title on the first line)."""


class Question(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: str
    type: QuestionType
    relevant: tuple[str, ...] = ()
    """Files of `DOCUMENTS` that answer the question; () for none."""
    answer_contains: tuple[str, ...] = ()
    """Phrases of which an answering passage holds one; () when any passage of a
    relevant document counts."""
    author: Author = "first"
    """Which set the question comes from (`FILES`): set by `load`, never in a file."""


def load(author: Author) -> tuple[Question, ...]:
    """The questions of `author`'s file, each marked with `author` (ValueError if the
    file names an author itself: the file it is in says that)."""
    path = HERE / FILES[author]
    questions = msgspec.json.decode(path.read_bytes(), type=tuple[Question, ...])
    raw = msgspec.json.decode(path.read_bytes(), type=list[dict[str, object]])
    if any("author" in entry for entry in raw):
        raise ValueError(f"{path.name}: the author set comes from the file, not a field")
    return tuple(msgspec.structs.replace(q, author=author) for q in questions)


QUESTIONS: Final[tuple[Question, ...]] = tuple(q for a in AUTHORS for q in load(a))
"""Every question of every set, in the order of `AUTHORS`."""
