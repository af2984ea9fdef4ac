"""Suggested wording on a scorecard (`training.suggestions`): drawn verbatim from the
dealership's own documents, for missed and partly met criteria only, from coaching
documents (compliance ones for a blocker), with its source, and only above the
relevance floor of the vectors searched.

The retriever is a double of the `Retriever` port: what search ranks is covered by the
retrieval tests; here, what the suggestion does with a ranking."""

from __future__ import annotations

import uuid

import pytest

from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.domain.model import Topic
from avataradam.domain.retrieval import RetrievalRequest, SearchHit, SearchResult
from avataradam.domain.training.rubrics import RubricRef
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Scorecard,
    ScorerRef,
)
from avataradam.domain.training.suggestions import (
    COACHING,
    COMPLIANCE,
    MAX_WORDING,
    SuggestWording,
    wording,
)
from avataradam.domain.usecases.search import SearchKnowledgeBase
from tests.contract.builders import dealership
from tests.support.fakes import ManualClock

PLAYBOOK = (
    'When the payment worries them, say: "I hear you; let me show you what each option '
    'protects, then you choose." Never lead with price.'
)
RULE = "Products are optional. Never tell a customer a product is required for approval."


class Ranked:
    """`Retriever` double: answers `hit` (by topic) and records each request."""

    def __init__(self, hits: dict[Topic, SearchHit]) -> None:
        self.hits = hits
        self.requests: list[RetrievalRequest] = []

    async def retrieve(self, request: RetrievalRequest) -> SearchResult:
        self.requests.append(request)
        found = [h for t, h in self.hits.items() if request.topics and t in request.topics]
        return SearchResult(hits=found[: request.top_k], cache="bypass")


def hit(text: str, topic: Topic, score: float) -> SearchHit:
    document = uuid.uuid4()
    return SearchHit(
        chunk_id=f"{document}:3",
        document_id=document,
        filename=f"{topic}.md",
        topic=topic,
        text=text,
        score=score,
        page=2,
        section="Payment objections",
    )


def criterion(ident: str, verdict: str, *, blocker: bool = False) -> CriterionResult:
    return CriterionResult(
        id=ident,
        title=ident.replace("_", " "),
        verdict=verdict,  # type: ignore[arg-type]
        score={"met": 100, "partly": 50}.get(verdict, 0),
        checks=(CheckResult(id=f"{ident}.check", passed=verdict == "met"),),
        advice="Acknowledge the concern before answering it.",
        blocker=blocker,
    )


def card(*criteria: CriterionResult) -> Scorecard:
    return Scorecard(
        overall=50,
        passed=False,
        blockers_failed=(),
        criteria=criteria,
        keep=(),
        start=(),
        stop=(),
        rubric=RubricRef(id="fi-office", version=1),
        scorer=ScorerRef(kind="rules"),
    )


async def suggest(
    scorecard: Scorecard, hits: dict[Topic, SearchHit], floor: float = 0.5
) -> tuple[Scorecard, Ranked]:
    store = InMemoryStore()
    place = dealership()
    store.tables.dealerships[place.id] = place
    ranked = Ranked(hits)
    search = SearchKnowledgeBase(
        InMemoryGenerationReader(store), ranked, InMemoryTelemetry(), ManualClock()
    )
    suggested = await SuggestWording(
        InMemoryGenerationReader(store), search, lambda _profile: floor
    )(place.id, scorecard)
    return suggested, ranked


def test_the_wording_is_the_opening_sentences_without_markdown() -> None:
    assert wording(PLAYBOOK) == " ".join(PLAYBOOK.split())
    assert wording(RULE) == RULE
    assert wording("Short. " * 100).startswith("Short. Short.")
    assert len(wording("Short. " * 100)) <= MAX_WORDING
    assert wording("word " * 200).endswith("…")
    assert wording("## Payment objections\n\n- **Ask** what the payment covers.\n- Listen.") == (
        "Ask what the payment covers. Listen."
    )
    assert wording("## Only a heading") == ""


async def test_a_passage_of_headings_only_suggests_nothing() -> None:
    scorecard = card(criterion("acknowledge", "missed"))

    suggested, _ = await suggest(
        scorecard, {Topic.PLAYBOOKS: hit("# Objections\n\n## Price", Topic.PLAYBOOKS, 0.9)}
    )

    assert suggested == scorecard


async def test_missed_and_partly_met_criteria_get_the_documents_wording_and_source() -> None:
    playbook = hit(PLAYBOOK, Topic.PLAYBOOKS, 0.9)
    scorecard = card(
        criterion("acknowledge", "missed"),
        criterion("discovery", "partly"),
        criterion("close", "met"),
        criterion("menu", "not_applicable"),
    )

    suggested, ranked = await suggest(scorecard, {Topic.PLAYBOOKS: playbook})

    missed, partly, met, other = suggested.criteria
    assert missed.suggested_wording == " ".join(PLAYBOOK.split())  # the document's words
    [source] = missed.sources
    assert (source.document_id, source.chunk_id, source.page, source.section) == (
        playbook.document_id,
        playbook.chunk_id,
        2,
        "Payment objections",
    )
    assert partly.suggested_wording == missed.suggested_wording
    assert (met, other) == scorecard.criteria[2:]
    assert len(ranked.requests) == 2
    assert all(r.topics == COACHING and r.top_k == 1 for r in ranked.requests)
    assert (
        ranked.requests[0].normalised == "acknowledge. acknowledge the concern before answering it."
    )


async def test_a_failed_blocker_gets_the_compliance_documents_wording() -> None:
    rule = hit(RULE, Topic.COMPLIANCE, 0.9)

    suggested, ranked = await suggest(
        card(criterion("optional", "missed", blocker=True)), {Topic.COMPLIANCE: rule}
    )

    assert suggested.criteria[0].suggested_wording == RULE
    assert ranked.requests[0].topics == COMPLIANCE


@pytest.mark.parametrize("score", [0.49, 0.0])
async def test_nothing_relevant_enough_suggests_nothing(score: float) -> None:
    scorecard = card(criterion("acknowledge", "missed"))

    suggested, _ = await suggest(
        scorecard, {Topic.PLAYBOOKS: hit(PLAYBOOK, Topic.PLAYBOOKS, score)}
    )

    assert suggested == scorecard


async def test_a_dealership_without_documents_gets_no_suggestion() -> None:
    scorecard = card(criterion("acknowledge", "missed"))

    suggested, _ = await suggest(scorecard, {})

    assert suggested == scorecard
