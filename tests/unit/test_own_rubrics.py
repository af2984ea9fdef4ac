"""A dealership's own rubrics in the domain: what an admin may write (no regular
expressions), what it composes to, how versions resolve for scoring, and the `rules`
scorer on exemplars-only checks. (Through the API and a worker: the integration test
test_own_rubrics.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.domain.access import Principal
from avataradam.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RubricIdTaken,
    RubricReadOnly,
)
from avataradam.domain.model import Role
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.authoring import (
    MAX_EXEMPLARS,
    CheckDraft,
    CriterionDraft,
    RubricDraft,
    compose,
)
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.rubrics import Rubric, RubricRegistry, UnknownRubric
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import Transcript
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.rubrics import RubricUseCases
from tests.contract.builders import dealership
from tests.support.fakes import ManualClock

OFFER = CheckDraft(
    id="offered_test_drive",
    description="Offered a test drive?",
    exemplars=("would you like to take it for a test drive",),
)
PROMISE = CheckDraft(
    id="promised_approval",
    description="Promised a loan approval?",
    exemplars=("your loan is guaranteed to be approved",),
    forbidden=True,
)
DRAFT = RubricDraft(
    title="Our office",
    criteria=(
        CriterionDraft(
            id="discovery",
            title="Discovery",
            weight=2,
            checks=(
                CheckDraft(uses="fi-office/asked_budget"),
                CheckDraft(
                    uses="fi-office/acknowledged_before_answering",
                    id="acknowledged",
                    description="Acknowledged first?",
                    advice="Acknowledge first.",
                ),
                OFFER,
            ),
        ),
        CriterionDraft(id="honesty", title="Honesty", weight=0, blocker=True, checks=(PROMISE,)),
    ),
)


def fi_check(check_id: str) -> Any:
    return next(k for _, k in FI_OFFICE_V1.checks() if k.id == check_id)


def test_a_reference_takes_the_built_in_check_whole_with_its_own_words() -> None:
    rubric = compose(DRAFT, rubric_id="ours", version=3, built_in=BUILT_IN_RUBRICS)

    budget, acknowledged, offer = rubric.criteria[0].checks
    assert budget == fi_check("asked_budget")
    assert acknowledged == msgspec.structs.replace(
        fi_check("acknowledged_before_answering"),
        id="acknowledged",
        description="Acknowledged first?",
        advice="Acknowledge first.",
        advice_es="",
    )
    assert (rubric.id, rubric.version) == ("ours", 3)
    # A referenced objection check needs its rubric's words for an objection.
    assert rubric.objection_patterns == FI_OFFICE_V1.objection_patterns
    assert rubric.objection_exemplars == FI_OFFICE_V1.objection_exemplars
    assert offer.patterns == offer.negated_patterns == offer.requires == ()


def test_an_exemplars_only_check_holds_no_pattern_and_a_prohibition_ignores_negations() -> None:
    rubric = compose(DRAFT, rubric_id="ours", version=1, built_in=BUILT_IN_RUBRICS)
    [promise] = rubric.criteria[1].checks
    offer = rubric.criteria[0].checks[2]

    assert (promise.forbidden, promise.negatable, promise.patterns) == (True, True, ())
    assert (offer.forbidden, offer.negatable, offer.exemplars) == (False, False, OFFER.exemplars)
    plain = compose(
        RubricDraft(
            title="t", criteria=(CriterionDraft(id="c", title="c", weight=1, checks=(OFFER,)),)
        ),
        rubric_id="plain",
        version=1,
        built_in=BUILT_IN_RUBRICS,
    )
    assert plain.objection_patterns == plain.objection_exemplars == ()


def _criteria(*criteria: CriterionDraft) -> RubricDraft:
    return RubricDraft(title="Our office", criteria=criteria)


ONE = CriterionDraft(id="c", title="C", weight=1, checks=(OFFER,))
BROKEN: dict[str, tuple[RubricDraft, str]] = {
    "no criteria": (_criteria(), "criteria"),
    "no checks": (_criteria(msgspec.structs.replace(ONE, checks=())), "criteria[0].checks"),
    "a malformed criterion id": (
        _criteria(msgspec.structs.replace(ONE, id="Not An Id")),
        "criteria[0].id",
    ),
    "two criteria with one id": (_criteria(ONE, ONE), "criteria"),
    "two checks with one id": (
        _criteria(msgspec.structs.replace(ONE, checks=(OFFER, OFFER))),
        "criteria.checks",
    ),
    "a check id taken by a reference": (
        _criteria(
            msgspec.structs.replace(
                ONE,
                checks=(
                    CheckDraft(uses="fi-office/asked_budget"),
                    msgspec.structs.replace(OFFER, id="asked_budget"),
                ),
            )
        ),
        "criteria.checks",
    ),
    "no positive weight": (_criteria(msgspec.structs.replace(ONE, weight=0)), "criteria.weight"),
    "weight only on a blocker": (
        _criteria(msgspec.structs.replace(ONE, blocker=True)),
        "criteria.weight",
    ),
    "a negative weight": (_criteria(msgspec.structs.replace(ONE, weight=-1)), "criteria[0].weight"),
    "an unknown built-in check": (
        _criteria(msgspec.structs.replace(ONE, checks=(CheckDraft(uses="fi-office/nope"),))),
        "criteria[0].checks[0].uses",
    ),
    "an unknown built-in rubric": (
        _criteria(msgspec.structs.replace(ONE, checks=(CheckDraft(uses="asked_budget"),))),
        "criteria[0].checks[0].uses",
    ),
    "a reference with exemplars": (
        _criteria(
            msgspec.structs.replace(
                ONE, checks=(CheckDraft(uses="fi-office/asked_budget", exemplars=("x y z",)),)
            )
        ),
        "criteria[0].checks[0]",
    ),
    "an own check without exemplars": (
        _criteria(
            msgspec.structs.replace(ONE, checks=(msgspec.structs.replace(OFFER, exemplars=()),))
        ),
        "criteria[0].checks[0]",
    ),
    "too many exemplars": (
        _criteria(
            msgspec.structs.replace(
                ONE,
                checks=(
                    msgspec.structs.replace(
                        OFFER, exemplars=tuple(f"phrase {n}" for n in range(MAX_EXEMPLARS + 1))
                    ),
                ),
            )
        ),
        "criteria[0].checks[0].exemplars",
    ),
    "a blank exemplar": (
        _criteria(
            msgspec.structs.replace(
                ONE, checks=(msgspec.structs.replace(OFFER, exemplars=("fine words", " ")),)
            )
        ),
        "criteria[0].checks[0].exemplars",
    ),
    "a blank title": (RubricDraft(title="  ", criteria=(ONE,)), "title"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_draft_that_breaks_a_rule_names_the_field(case: str) -> None:
    draft, field = BROKEN[case]
    with pytest.raises(InvalidInput) as refused:
        compose(draft, rubric_id="ours", version=1, built_in=BUILT_IN_RUBRICS)
    assert refused.value.details["field"] == field


# ----------------------------------------------------------------- use cases


class World:
    def __init__(self, built_in: RubricRegistry = BUILT_IN_RUBRICS) -> None:
        self.uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        self.rubrics = RubricUseCases(self.uow, ManualClock(), RubricCatalog(built_in))

    async def dealership(self) -> tuple[Principal, Principal]:
        """(admin, trainee) of a new dealership."""
        d = dealership()
        async with self.uow() as work:
            await work.dealerships.add(d)
            await work.commit()
        return (
            Principal(user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=d.id),
            Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=d.id),
        )

    async def resolve(self, principal: Principal, rubric_id: str, version: int | None) -> Rubric:
        catalog = self.rubrics.catalog
        assert principal.dealership_id is not None
        async with self.uow(read_only=True) as work:
            if version is None:
                return await catalog.latest(work.rubrics, principal.dealership_id, rubric_id)
            return await catalog.get(work.rubrics, principal.dealership_id, rubric_id, version)


V2 = _criteria(ONE)


async def test_versions_are_added_and_each_resolves_forever() -> None:
    world = World()
    admin, trainee = await world.dealership()

    first = await world.rubrics.create(admin, "ours", DRAFT)
    second = await world.rubrics.publish(admin, "ours", V2)

    assert (first.rubric.version, second.rubric.version, second.versions) == (1, 2, (1, 2))
    assert await world.resolve(trainee, "ours", 1) == first.rubric
    assert await world.resolve(trainee, "ours", None) == second.rubric
    assert (await world.rubrics.get(trainee, "ours", version=1)).draft == DRAFT
    assert await world.resolve(trainee, FI_OFFICE_RUBRIC_ID, None) == BUILT_IN_RUBRICS.latest(
        FI_OFFICE_RUBRIC_ID
    )
    assert await world.resolve(trainee, FI_OFFICE_RUBRIC_ID, 1) == FI_OFFICE_V1
    with pytest.raises(UnknownRubric):
        await world.resolve(trainee, "ours", 3)
    listed = await world.rubrics.list(trainee)
    assert [(e.rubric.id, e.built_in, e.versions) for e in listed] == [
        (FI_OFFICE_RUBRIC_ID, True, tuple(BUILT_IN_RUBRICS.versions(FI_OFFICE_RUBRIC_ID))),
        ("ours", False, (1, 2)),
    ]


async def test_another_dealership_and_a_trainee_cannot_reach_or_write_a_rubric() -> None:
    world = World()
    admin, trainee = await world.dealership()
    other_admin, _ = await world.dealership()
    await world.rubrics.create(admin, "ours", DRAFT)

    with pytest.raises(NotFound):
        await world.rubrics.get(other_admin, "ours")
    with pytest.raises(NotFound):
        await world.rubrics.publish(other_admin, "ours", V2)
    with pytest.raises(UnknownRubric):
        await world.resolve(other_admin, "ours", 1)
    with pytest.raises(PermissionDenied):
        await world.rubrics.create(trainee, "mine", DRAFT)
    with pytest.raises(PermissionDenied):
        await world.rubrics.publish(trainee, "ours", V2)
    # The other dealership may use the same id for a rubric of its own.
    assert (await world.rubrics.create(other_admin, "ours", V2)).rubric.criteria[0].id == "c"
    assert (await world.rubrics.get(trainee, "ours")).versions == (1,)


async def test_built_ins_are_read_only_and_ids_are_unique() -> None:
    world = World()
    admin, _ = await world.dealership()
    await world.rubrics.create(admin, "ours", DRAFT)

    with pytest.raises(RubricReadOnly):
        await world.rubrics.publish(admin, FI_OFFICE_RUBRIC_ID, V2)
    with pytest.raises(RubricIdTaken):
        await world.rubrics.create(admin, FI_OFFICE_RUBRIC_ID, V2)
    with pytest.raises(RubricIdTaken):
        await world.rubrics.create(admin, "ours", V2)
    with pytest.raises(InvalidInput):
        await world.rubrics.create(admin, "Not an id", V2)


async def test_a_refused_version_stores_nothing() -> None:
    world = World()
    admin, _ = await world.dealership()
    await world.rubrics.create(admin, "ours", DRAFT)

    with pytest.raises(InvalidInput):
        await world.rubrics.publish(admin, "ours", _criteria())
    with pytest.raises(InvalidInput):
        await world.rubrics.create(admin, "theirs", _criteria())

    assert (await world.rubrics.get(admin, "ours")).versions == (1,)
    with pytest.raises(NotFound):
        await world.rubrics.get(admin, "theirs")


async def test_a_stored_version_keeps_the_built_in_check_it_copied() -> None:
    """A later built-in version changes no own version composed before it."""
    registry = RubricRegistry((FI_OFFICE_V1,))
    world = World(registry)
    admin, trainee = await world.dealership()
    await world.rubrics.create(admin, "ours", DRAFT)
    changed = msgspec.structs.replace(
        FI_OFFICE_V1,
        version=2,
        criteria=tuple(
            msgspec.structs.replace(
                c,
                checks=tuple(
                    msgspec.structs.replace(k, patterns=(r"\bbudget\b",)) for k in c.checks
                ),
            )
            for c in FI_OFFICE_V1.criteria
        ),
    )
    registry.register(changed)

    kept = await world.resolve(trainee, "ours", 1)
    assert kept.criteria[0].checks[0] == fi_check("asked_budget")
    republished = await world.rubrics.publish(admin, "ours", DRAFT)
    assert republished.rubric.criteria[0].checks[0].patterns == (r"\bbudget\b",)


# ------------------------------------------------------------ rules scorer


def _scored_rubric() -> Rubric:
    return compose(
        _criteria(
            CriterionDraft(id="closing", title="Closing", weight=1, checks=(OFFER,)),
            CriterionDraft(
                id="honesty", title="Honesty", weight=0, blocker=True, checks=(PROMISE,)
            ),
        ),
        rubric_id="ours",
        version=1,
        built_in=BUILT_IN_RUBRICS,
    )


async def _score(*trainee_lines: str) -> dict[str, bool]:
    """Check id -> passed, by the `rules` scorer with an embedder and the default
    (patterns-only) prohibition threshold."""
    scorer = RulesScorer(spans=sentence_spans, embedder=HashingEmbedder(), threshold=0.9)
    messages = [("c0", "assistant", "Hi, I'm here to sign.")]
    messages += [(f"t{n}", "user", line) for n, line in enumerate(trainee_lines)]
    card = await scorer.score(_scored_rubric(), Transcript.of(messages))  # type: ignore[arg-type]
    return {k.id: k.passed for c in card.criteria for k in c.checks}


async def test_an_exemplars_only_check_passes_on_a_sentence_saying_its_exemplar() -> None:
    said = await _score("Would you like to take it for a test drive?")
    silent = await _score("Let's look at the paperwork together.")

    assert said == {"offered_test_drive": True, "promised_approval": True}
    assert silent == {"offered_test_drive": False, "promised_approval": True}


async def test_an_exemplars_only_prohibition_fails_on_its_exemplar_but_not_its_negation() -> None:
    violated = await _score("Your loan is guaranteed to be approved.")
    negated = await _score("I can't say your loan is guaranteed to be approved.")

    assert violated["promised_approval"] is False
    assert negated["promised_approval"] is True
