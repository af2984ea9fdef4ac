"""Labelled questions over `bench/retrieval/documents/` for the retrieval evaluation.

The questions live in `questions.json` (one object a line: `type`, `text`, and for the
answerable ones `relevant` and `answer_contains`), so that someone who did not write
the documents can add or review them without touching code. Each `Question` names the
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


QUESTIONS: Final[tuple[Question, ...]] = msgspec.json.decode(
    (HERE / "questions.json").read_bytes(), type=tuple[Question, ...]
)
