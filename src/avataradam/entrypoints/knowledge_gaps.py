"""Wiring of knowledge gaps (issue 18): the recorder the chat and the ratings call, the
worker's grouping at the similarity threshold measured for the configured embedder, and
the admins' use cases. Kept out of `container.py` like `scoring.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from avataradam.domain.usecases.knowledge_gap_reports import (
    ListKnowledgeGaps,
    ResolveKnowledgeGap,
)
from avataradam.domain.usecases.knowledge_gaps import (
    GapRecorder,
    GroupKnowledgeGaps,
    ReconcileKnowledgeGaps,
)

if TYPE_CHECKING:
    from avataradam.entrypoints.container import Container

GAP_SIMILARITY_THRESHOLD: dict[str, float] = {"e5": 0.91}
"""The cosine a question needs with a gap's centroid to join it, per embedder.

multilingual-e5-small (`e5`), measured by tests/unit/test_knowledge_gap_threshold.py on
tests/data/gap_questions.json (60 training questions in 12 topics, 5 each, English and
Spanish, paraphrased and cross-language): grouped one by one in 20 random orders as the
worker groups them, 0.91 puts together pairs of one topic in 89 % of the pairs it puts
together (precision; at 0.88 about 57 %, at 0.9 about 73 %) and agrees with the
labels on 94.5 % of all pairs, but keeps together only 21 % of the pairs of one topic
(recall): the model places every F&I question between about 0.76 and 0.94 of every
other, paraphrases and different questions on the same product overlapping, so a lower
threshold merges
different questions (wrong counts and titles) before it joins paraphrases. A gap is
therefore a set of close rewordings (a paraphrase across languages included: "¿Cubre el
GAP el deducible?" and "Does GAP cover my deductible?" score 0.93 and share a gap in 19
of the 20 orders), and one topic may show as a few gaps; a gap seldom mixes different
questions.

Other embedders (nothing measured): 0.95, near-identical wording only (the `hashing`
test embedder puts questions of the same words, case aside, at 1.0)."""
DEFAULT_GAP_SIMILARITY_THRESHOLD = 0.95


@dataclass(frozen=True)
class KnowledgeGaps:
    recorder: GapRecorder
    group: GroupKnowledgeGaps
    reconcile: ReconcileKnowledgeGaps
    list: ListKnowledgeGaps
    resolve: ResolveKnowledgeGap


def gap_similarity_threshold(embedder: str) -> float:
    return GAP_SIMILARITY_THRESHOLD.get(embedder, DEFAULT_GAP_SIMILARITY_THRESHOLD)


def wire_knowledge_gaps(container: Container) -> KnowledgeGaps:
    """Grouping embeds with `container.knowledge.embedder`; the reconciler re-drives
    questions left ungrouped for the ingestion's queued timeout."""
    uow, clock = container.uow, container.clock
    return KnowledgeGaps(
        recorder=GapRecorder(container.queue, container.telemetry),
        group=GroupKnowledgeGaps(
            uow,
            container.knowledge.embedder,
            clock,
            container.ids,
            threshold=gap_similarity_threshold(container.settings.embedder),
        ),
        reconcile=ReconcileKnowledgeGaps(
            uow, container.queue, clock, after=container.knowledge.queued_timeout
        ),
        list=ListKnowledgeGaps(uow, clock),
        resolve=ResolveKnowledgeGap(uow, clock),
    )
