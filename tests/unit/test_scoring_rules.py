"""The scoring core without the embedder: evidence verification, negation, quoting the
customer, order-aware checks, partial-credit math, blockers and the rubric registry.
(Agreement with the trainer's labels, with the real embedder: test_scoring_agreement.)"""

from __future__ import annotations

from uuid import UUID

import msgspec
import pytest

from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.fi_office_v2 import FI_OFFICE_V2
from avataradam.domain.training.fi_office_v3 import FI_OFFICE_V3
from avataradam.domain.training.rubrics import (
    Check,
    Language,
    Rubric,
    RubricRegistry,
    UnknownRubric,
)
from avataradam.domain.training.rules import SIMILARITY_THRESHOLD, RulesScorer
from avataradam.domain.training.scorecard import (
    PASS_MARK,
    CheckResult,
    CriterionResult,
    Evidence,
    Role,
    Scorecard,
    Transcript,
    criterion_score,
    overall_score,
    session_passed,
    settle_check,
    verdict,
    verify_evidence,
)
from avataradam.domain.training.speech import mask_customer_speech, negated
from avataradam.entrypoints.options import SCORING_SIMILARITY_THRESHOLD

RUBRIC = FI_OFFICE_V1
SCORER = RulesScorer(spans=sentence_spans, embedder=None)


async def score(*turns: str, language: Language = "es") -> Scorecard:
    """Turns alternate customer, trainee, customer… when the first starts with 'C:'."""
    messages: list[tuple[str | UUID, Role, str]] = []
    for i, turn in enumerate(turns):
        role: Role = "assistant" if turn.startswith("C:") else "user"
        messages.append((f"m{i}", role, turn.removeprefix("C:").strip()))
    return await SCORER.score(RUBRIC, Transcript.of(messages, language=language))


def check(card: Scorecard, check_id: str) -> CheckResult:
    return next(c for r in card.criteria for c in r.checks if c.id == check_id)


# --------------------------------------------------------------------- evidence


TRANSCRIPT = Transcript.of(
    [
        ("a", "assistant", "I'll think about it."),
        ("b", "user", "That's fair. Which option works best for you?"),
    ]
)


def test_only_verbatim_quotes_of_the_trainee_survive() -> None:
    kept = verify_evidence(
        TRANSCRIPT,
        [
            Evidence(message_id="b", quote="That's fair."),
            Evidence(message_id="b", quote="That's fair."),  # duplicate
            Evidence(message_id="b", quote="that's fair."),  # not verbatim
            Evidence(message_id="a", quote="I'll think about it."),  # the customer's
            Evidence(message_id="zz", quote="That's fair."),  # unknown message
            Evidence(message_id="b", quote="  "),
        ],
    )
    assert kept == (Evidence(message_id="b", quote="That's fair."),)


def test_a_check_that_needs_evidence_cannot_pass_without_a_verified_quote() -> None:
    positive = Check(id="p", description="d")
    forbidden = Check(id="f", description="d", forbidden=True)
    bogus = [Evidence(message_id="a", quote="I'll think about it.")]
    assert settle_check(TRANSCRIPT, positive, passed=True, evidence=bogus).passed is False
    assert settle_check(TRANSCRIPT, forbidden, passed=False, evidence=bogus).passed is True
    good = [Evidence(message_id="b", quote="That's fair.")]
    assert settle_check(TRANSCRIPT, positive, passed=True, evidence=good).passed is True
    optional = Check(id="o", description="d", needs_evidence=False)
    assert settle_check(TRANSCRIPT, optional, passed=True, evidence=[]).passed is True


# --------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    ("sentence", "violates"),
    [
        ("I would never tell you it's required for your approval.", False),
        ("It's required for your approval.", True),
        ("It's not optional, it's required for your approval.", True),
        ("The bank doesn't need it to approve you.", False),
        ("The bank needs it to approve you.", True),
        ("You won't get approved without it.", True),
        ("I'd never say you won't get approved without it.", False),
        ("Nunca le diría que es obligatorio para aprobar el crédito.", False),
        ("Es obligatorio para aprobar el crédito.", True),
    ],
)
async def test_credit_tie_blocker_reads_negation(sentence: str, violates: bool) -> None:
    card = await score("C:Is any of this required?", sentence, language="en")
    assert check(card, "not_tied_to_credit").passed is not violates
    assert ("optional_not_tied_to_credit" in card.blockers_failed) is violates


@pytest.mark.parametrize(
    ("sentence", "violates"),
    [
        ("This price is only good today.", True),
        ("There's no rush, you don't have to decide today.", False),
        ("Si no la toma ahorita ya no se la puedo ofrecer.", True),
        ("No es cierto que ya no se la pueda ofrecer mañana.", False),
    ],
)
async def test_false_urgency_blocker_reads_negation(sentence: str, violates: bool) -> None:
    card = await score(sentence)
    assert check(card, "no_false_urgency").passed is not violates


def test_negation_is_scoped_to_its_clause_and_ignores_conditions() -> None:
    text = "No, it's required for approval."
    assert not negated(text, text.index("required"))
    text = "I would never say it's required."
    assert negated(text, text.index("required"))
    text = "If you don't take it, you lose it."
    assert not negated(text, text.index("lose"))


# --------------------------------------------------------------------- quoting


def test_quoted_and_reported_customer_speech_is_masked_in_place() -> None:
    text = 'You said "it is required for the loan". That is not how it works.'
    masked = mask_customer_speech(text)
    assert len(masked) == len(text)
    assert "required" not in masked
    assert masked.endswith("That is not how it works.")
    reported = mask_customer_speech("You mentioned you drive 25,000 miles a year.")
    assert "miles" not in reported


async def test_a_trainee_quoting_the_customer_is_not_the_trainees_statement() -> None:
    card = await score(
        "C:The last dealer said GAP was required to get approved.",
        'You said they told you "GAP was required to get approved". Which option works best?',
        "C:Also I drive 25,000 miles a year.",
        "You mentioned you drive 25,000 miles a year.",
        language="en",
    )
    assert check(card, "not_tied_to_credit").passed
    assert not check(card, "asked_mileage").passed
    assert check(card, "clear_ask").passed  # the trainee's own words still count


# --------------------------------------------------------------------- order


async def test_value_must_come_before_price() -> None:
    value_first = await score(
        "GAP covers what you still owe if the car is totaled.",
        "C:Okay.",
        "It's $895, about $14 a month.",
        language="en",
    )
    price_first = await score(
        "It's $895, about $14 a month.",
        "C:Okay.",
        "GAP covers what you still owe if the car is totaled.",
        language="en",
    )
    assert check(value_first, "value_before_price").passed
    assert check(price_first, "stated_value").passed
    assert not check(price_first, "value_before_price").passed


async def test_acknowledgement_must_open_the_reply_to_the_objection() -> None:
    acknowledged = await score(
        "C:My insurance already covers that.",
        "I understand. Most policies exclude road hazards, though.",
        language="en",
    )
    late = await score(
        "C:My insurance already covers that.",
        "Most policies exclude road hazards, though. I understand.",
        language="en",
    )
    no_objection = await score("C:Sounds good.", "Great.", language="en")
    assert check(acknowledged, "acknowledged_before_answering").passed
    assert not check(late, "acknowledged_before_answering").passed
    assert not check(no_objection, "acknowledged_before_answering").applicable
    objection = next(r for r in no_objection.criteria if r.id == "objection_handling")
    assert objection.verdict == "not_applicable"


# --------------------------------------------------------------------- math


def result(cid: str, passed: tuple[bool | None, ...], *, blocker: bool = False) -> CriterionResult:
    checks = tuple(
        CheckResult(id=f"{cid}{i}", passed=bool(p), applicable=p is not None)
        for i, p in enumerate(passed)
    )
    score_ = criterion_score(checks)
    return CriterionResult(
        id=cid,
        title=cid,
        verdict=verdict(score_, blocker=blocker),
        score=score_ or 0,
        checks=checks,
        blocker=blocker,
    )


def test_partial_credit_is_the_share_of_applicable_checks_passed() -> None:
    assert result("a", (True, True, True, False)).score == 75
    assert result("a", (True, True, True, False)).verdict == "met"
    assert result("a", (True, False, False)).score == 33
    assert result("a", (True, False, False)).verdict == "partly"
    assert result("a", (True, False)).score == 50
    assert result("a", (False, False)).verdict == "missed"
    assert result("a", (None, None)).verdict == "not_applicable"
    assert result("a", (True, None, False)).score == 50
    assert result("b", (True, False), blocker=True).verdict == "missed"
    # 2/3 = 66.67 → 67 (half up)
    assert result("a", (True, True, False)).score == 67


def test_overall_is_weighted_and_skips_not_applicable_and_weightless() -> None:
    criteria = [
        result("a", (True, True)),  # 100, weight 2
        result("b", (True, False)),  # 50, weight 1
        result("c", (None,)),  # n/a, weight 5
        result("d", (False,), blocker=True),  # blocker, weight 0
    ]
    weights = {"a": 2.0, "b": 1.0, "c": 5.0, "d": 0.0}
    assert overall_score(criteria, weights) == 83  # (200 + 50) / 3 = 83.3
    assert overall_score([], weights) == 0


def test_a_failed_blocker_fails_whatever_the_score() -> None:
    assert session_passed(100, ["no_false_urgency"]) is False
    assert session_passed(PASS_MARK, []) is True
    assert session_passed(PASS_MARK - 1, []) is False


async def test_a_strong_session_with_one_blocker_fails_and_says_stop() -> None:
    card = await score(
        "How long will you keep it, and how many miles do you drive a year?",
        "C:Eight years, 15,000 miles.",
        "The service contract pays for repairs after the warranty ends. Here's the menu: "
        "your base payment with no products is $450, with the service contract $479. "
        "Every product is optional. Which option works best for you?",
        "C:I'll think about it.",
        "That's fair. But this price is only good today.",
        language="en",
    )
    assert card.overall >= PASS_MARK
    assert card.blockers_failed == ("no_false_urgency",)
    assert card.passed is False
    assert any("only good today" in line for line in card.stop)
    assert card.rubric.id == FI_OFFICE_RUBRIC_ID
    assert card.scorer.kind == "rules"


async def test_a_very_short_session_scores_zero_and_fails_no_blocker() -> None:
    card = await score("Hi, I'm Kevin from finance.", "C:Hi.", language="en")
    assert card.overall == 0
    assert card.blockers_failed == ()
    assert not card.passed
    assert card.keep == ()
    assert len(card.start) == 4


async def test_spanish_sessions_get_spanish_titles_and_advice() -> None:
    card = await score("¿Cuántos años piensa tener el auto?", "C:Seis.")
    discovery = card.criteria[0]
    assert discovery.title == "Empatía y descubrimiento"
    assert discovery.advice is not None
    assert discovery.advice.startswith("Pregunte")


# --------------------------------------------------------------------- registry


def test_rubrics_are_immutable_and_versioned() -> None:
    assert BUILT_IN_RUBRICS.latest(FI_OFFICE_RUBRIC_ID) is FI_OFFICE_V3
    assert BUILT_IN_RUBRICS.get(FI_OFFICE_RUBRIC_ID, 1) is FI_OFFICE_V1
    assert BUILT_IN_RUBRICS.versions(FI_OFFICE_RUBRIC_ID) == [1, 2, 3]
    with pytest.raises(AttributeError):
        FI_OFFICE_V1.version = 2  # type: ignore[misc]
    v2 = msgspec.structs.replace(FI_OFFICE_V1, version=2, title="changed")
    registry = RubricRegistry([FI_OFFICE_V1, v2])
    assert registry.latest(FI_OFFICE_RUBRIC_ID) is v2
    assert registry.get(FI_OFFICE_RUBRIC_ID, 1) is FI_OFFICE_V1
    assert registry.versions(FI_OFFICE_RUBRIC_ID) == [1, 2]
    with pytest.raises(ValueError, match="already registered"):
        RubricRegistry([FI_OFFICE_V2, v2])
    registry.register(FI_OFFICE_V1)  # the same value again: no-op
    with pytest.raises(ValueError, match="already registered"):
        registry.register(msgspec.structs.replace(FI_OFFICE_V1, title="edited in place"))
    with pytest.raises(UnknownRubric):
        registry.latest("nope")
    with pytest.raises(UnknownRubric):
        registry.get(FI_OFFICE_RUBRIC_ID, 9)


@pytest.mark.parametrize(
    "rubric", [FI_OFFICE_V1, FI_OFFICE_V2, FI_OFFICE_V3], ids=["v1", "v2", "v3"]
)
def test_the_rubric_round_trips_and_its_ids_are_unique(rubric: Rubric) -> None:
    encoded = msgspec.json.encode(rubric)
    assert msgspec.json.decode(encoded, type=Rubric) == rubric
    ids = [c.id for _, c in rubric.checks()]
    assert len(ids) == len(set(ids))
    assert ids == [c.id for _, c in FI_OFFICE_V1.checks()]
    blockers = [c for c in rubric.criteria if c.blocker]
    assert {c.id for c in blockers} == {
        "optional_not_tied_to_credit",
        "no_payment_packing",
        "no_misrepresentation",
        "no_false_urgency",
    }
    assert all(check.forbidden and check.negatable for c in blockers for check in c.checks)


def test_the_similarity_threshold_is_the_one_measured_for_the_embedder() -> None:
    assert SCORING_SIMILARITY_THRESHOLD == {"e5": SIMILARITY_THRESHOLD}
