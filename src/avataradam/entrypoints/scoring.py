"""Wiring of the training loop's scoring (issue 17): the `rules` scorer over the
configured embedder and sentence splitter, and the use cases the API and the worker
call. Kept out of `container.py` so that stays one screenful per feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.scoring import Scorer
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.training.llm_judge import LlmJudge
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import ScorerRef
from avataradam.domain.training.suggestions import SuggestWording
from avataradam.domain.usecases.analytics import Analytics
from avataradam.domain.usecases.assignment_events import AnnounceAssignmentCompletion
from avataradam.domain.usecases.assignments import AssignmentUseCases
from avataradam.domain.usecases.conversations.chat import relevance_floor
from avataradam.domain.usecases.documents import TaskDispatcher
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.rubrics import RubricUseCases
from avataradam.domain.usecases.scenarios import ScenarioUseCases
from avataradam.domain.usecases.scoring import (
    CompleteConversation,
    GetScorecard,
    RescoreConversation,
    ScoringPolicy,
)
from avataradam.domain.usecases.scoring_run import (
    ReconcileScorecards,
    ScoreConversation,
    ScoringRunOptions,
)
from avataradam.entrypoints.options import chat_options, scoring_similarity_threshold

if TYPE_CHECKING:
    from avataradam.entrypoints.container import Container


@dataclass(frozen=True)
class Scoring:
    complete: CompleteConversation
    get: GetScorecard
    rescore: RescoreConversation
    score: ScoreConversation
    reconcile: ReconcileScorecards
    rubrics: RubricCatalog


def training_use_cases(
    uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator
) -> tuple[ScenarioUseCases, AssignmentUseCases, RubricUseCases, Analytics]:
    """The training product's resource use cases: scenarios, assignments, own rubrics,
    and the managers' analytics."""
    return (
        ScenarioUseCases(uow, clock, ids),
        AssignmentUseCases(uow, clock, ids),
        RubricUseCases(uow, clock),
        Analytics(uow, clock),
    )


def wire_scoring(container: Container, rubrics: RubricCatalog) -> Scoring:
    """The scoring use cases of `container` on the rubrics of `rubrics` (built-ins and
    the dealerships' own): scorer `AVATARADAM_SCORING_SCORER`
    (`rules`, over `container.sentence_spans` and `container.knowledge.embedder` at the
    similarity threshold measured for it, `options.scoring_similarity_threshold`; on an
    embedder with none measured, on its phrase patterns alone)."""
    settings = container.settings
    uow, clock, ids = container.uow, container.clock, container.ids
    threshold = scoring_similarity_threshold(settings)
    rules = (
        RulesScorer(spans=container.sentence_spans, embedder=None)
        if threshold is None  # no threshold measured for this embedder: patterns alone
        else RulesScorer(
            spans=container.sentence_spans,
            embedder=container.knowledge.embedder,
            threshold=threshold,
        )
    )
    scorers: dict[str, Scorer] = {"rules": rules}
    if container.chat_model.generative:
        scorers["llm"] = LlmJudge(model=container.chat_model, rules=rules)
    elif settings.scoring.scorer == "llm":
        raise ValueError(
            "AVATARADAM_SCORING_SCORER=llm needs a generative chat model"
            f" (AVATARADAM_CHAT_MODEL=local or openai), not {container.chat_model.name}"
        )
    redrive_after = container.knowledge.queued_timeout
    policy = ScoringPolicy(
        scorer=ScorerRef(kind=settings.scoring.scorer), redrive_after=redrive_after
    )
    dispatcher = TaskDispatcher(container.queue, clock, ids)
    return Scoring(
        complete=CompleteConversation(uow, dispatcher, clock, rubrics, policy),
        get=GetScorecard(uow),
        rescore=RescoreConversation(uow, dispatcher, clock, rubrics, policy),
        score=ScoreConversation(
            uow,
            scorers,
            rubrics,
            clock,
            ids,
            container.telemetry,
            ScoringRunOptions(
                lease=timedelta(seconds=settings.scoring.lease_s), hold_s=settings.scoring.hold_s
            ),
            SuggestWording(
                container.generations,
                container.search,
                partial(relevance_floor, chat_options(settings)),
            ),
            on_scored=AnnounceAssignmentCompletion(ids, clock),
        ),
        reconcile=ReconcileScorecards(uow, container.queue, clock, redrive_after=redrive_after),
        rubrics=rubrics,
    )
