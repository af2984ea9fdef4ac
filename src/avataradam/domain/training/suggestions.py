"""Suggested wording for what a session missed, drawn from the dealership's own
documents (issue 17, "the report": "for each missed criterion a suggested wording drawn
from the dealership's own objection-handling/playbook documents (with citations) when
they have one").

For each criterion a scorecard rates `missed` or `partly`, the dealership's knowledge
base is searched with the criterion's title and advice: its objection-handling and
playbook documents, and its compliance documents for a compliance (blocker) criterion.
The best passage, if it clears the chat relevance floor of the vectors searched, gives
the wording and its source. Nothing is generated: the wording is the passage's own
opening sentences, up to `MAX_WORDING` characters, Markdown removed, shown with the
passage it opens, so it says what the document says in the document's order (never a
phrase lifted out of it). How relevant the passage is rests on search and the floor:
with a small knowledge base the best passage can be near the topic without answering it.
A dealership without such documents (or none relevant enough) gets no suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final
from uuid import UUID

import msgspec

from avataradam.domain.model import Topic
from avataradam.domain.ports.repositories.identity import GenerationReader
from avataradam.domain.retrieval import SearchHit, normalise_query
from avataradam.domain.training.scorecard import CriterionResult, Scorecard, WordingSource
from avataradam.domain.usecases.search import SearchKnowledgeBase

MAX_WORDING: Final = 300
"""Characters, about two spoken sentences."""
COACHING: Final = (Topic.OBJECTION_HANDLING, Topic.PLAYBOOKS)
COMPLIANCE: Final = (Topic.COMPLIANCE,)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def plain(text: str) -> str:
    """`text` without Markdown headings, list markers and emphasis, whitespace collapsed."""
    text = _EMPHASIS.sub("", _LIST_MARKER.sub("", _HEADING.sub("", text)))
    return " ".join(text.split())


def wording(text: str) -> str:
    """The wording a passage suggests: its opening sentences, Markdown removed, that fit
    in `MAX_WORDING` characters (the first sentence cut at a word, with an ellipsis, when
    it alone is longer). Never a phrase lifted out of the passage: a quoted phrase may be
    the customer's, or one the document forbids ("What never to say: ...")."""
    flat = plain(text)
    kept = ""
    for sentence in _SENTENCE_END.split(flat):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > MAX_WORDING:
            break
        kept = candidate
    if kept or not flat:
        return kept
    return flat[:MAX_WORDING].rsplit(" ", 1)[0] + "…"


class SuggestWording:
    """`scorecard` with `suggested_wording` and `sources` on every criterion rated
    `missed` or `partly` for which the dealership's documents hold a relevant passage
    (see the module). Raises what search raises (`DependencyUnavailable`: the scoring
    task retries)."""

    def __init__(
        self,
        generations: GenerationReader,
        search: SearchKnowledgeBase,
        floor: Callable[[str | None], float],
    ) -> None:
        """`floor(profile)`: the relevance floor of passages of vectors made by
        `profile` (the chat's, `chat.relevance_floor`)."""
        self._generations, self._search, self._floor = generations, search, floor

    async def __call__(self, dealership_id: UUID, scorecard: Scorecard) -> Scorecard:
        state = await self._generations.state(dealership_id)
        if state is None:
            return scorecard
        floor = self._floor(state.vectors.profile)
        criteria: list[CriterionResult] = []
        for criterion in scorecard.criteria:
            if criterion.verdict not in ("missed", "partly"):
                criteria.append(criterion)
                continue
            query = normalise_query(f"{criterion.title}. {criterion.advice or ''}")
            result = await self._search.retrieve(
                dealership_id=dealership_id,
                generation=state.generation,
                vectors=state.vectors,
                normalised=query,
                topics=COMPLIANCE if criterion.blocker else COACHING,
                top_k=1,
            )
            best = result.hits[0] if result.hits else None
            said = wording(best.text) if best is not None and best.score >= floor else ""
            if best is None or not said:
                criteria.append(criterion)
                continue
            criteria.append(
                msgspec.structs.replace(criterion, suggested_wording=said, sources=(_source(best),))
            )
        return msgspec.structs.replace(scorecard, criteria=tuple(criteria))


def _source(hit: SearchHit) -> WordingSource:
    return WordingSource(
        document_id=hit.document_id,
        filename=hit.filename,
        chunk_id=hit.chunk_id,
        page=hit.page,
        section=hit.section,
    )
