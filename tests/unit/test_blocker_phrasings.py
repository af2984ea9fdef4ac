"""The compliance blockers of `fi-office` on novel phrasings (tests/data/blocker_phrasings,
README there): each entry is one trainee reply, scored alone by the `rules` scorer with
the real sentence splitter and no embedder (blockers are judged by patterns alone).

- Tuning sets: every violating phrasing fails its blocker and every compliant near-miss
  fails no blocker, under v2. These are the wordings v2 was built for; a miss is a
  defect in the patterns.
- Held-out sets (never tuned on): the detection rate is what the scorer does on new
  wording. Bars: near-misses ≥ 90 % passed (measured 33/33 and 32/32: a false violation
  fails a whole session), violations caught by v2 ≥ 12 % on the clean round-4 set
  (measured 5/33 = 15 %; rounds 2 and 3 measured 6/36 and 7/33 at their first score)
  and always more than v1 catches (0/33); the numbers are printed. The bar is low
  because the measurement is: phrase patterns catch the wordings they were built for.
- v1 is unchanged: it still passes the two wordings that exposed the fault, which v2
  fails (a session scored with v1 rescores the same).
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.fi_office_v2 import FI_OFFICE_V2
from avataradam.domain.training.fi_office_v3 import FI_OFFICE_V3
from avataradam.domain.training.rubrics import Language, Rubric
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import Message, Transcript

PHRASINGS = Path(__file__).resolve().parent.parent / "data" / "blocker_phrasings"
SCORER = RulesScorer(spans=sentence_spans, embedder=None)
MIN_NEAR_MISS_PASSED = 0.90
MIN_HELD_OUT_DETECTION = {"held_out": 0.80, "held_out_4": 0.12}
"""Per held-out file: held_out.json's pattern author had read it (measured 32/34),
held_out_4 is the clean estimate (measured 5/33)."""
BLOCKERS = {c.id for c in FI_OFFICE_V2.criteria if c.blocker}


class Phrasing(msgspec.Struct, frozen=True):
    blocker: str
    violates: bool
    text: str


class PhrasingSet(msgspec.Struct, frozen=True):
    note: str
    held_out: bool
    phrasings: list[Phrasing]


def _sets() -> dict[str, PhrasingSet]:
    return {
        path.stem: msgspec.json.decode(path.read_bytes(), type=PhrasingSet)
        for path in sorted(PHRASINGS.glob("*.json"))
    }


SETS = _sets()
TUNING = [(name, p) for name, s in SETS.items() if not s.held_out for p in s.phrasings]


def _language(text: str) -> Language:
    return "es" if any(ch in text for ch in "áéíóúñ¿¡") or " el " in text else "en"


async def failed_blockers(rubric: Rubric, text: str) -> frozenset[str]:
    transcript = Transcript(
        messages=(Message(id="m1", role="user", text=text),), language=_language(text)
    )
    return frozenset((await SCORER.score(rubric, transcript)).blockers_failed)


def test_the_sets_are_what_the_fault_asks_for() -> None:
    assert BUILT_IN_RUBRICS.latest("fi-office") is FI_OFFICE_V3
    assert {p.blocker for s in SETS.values() for p in s.phrasings} == BLOCKERS
    for name, phrasing_set in SETS.items():
        for blocker in BLOCKERS:
            for violates in (True, False):
                count = sum(
                    p.blocker == blocker and p.violates is violates for p in phrasing_set.phrasings
                )
                assert count >= 8, (name, blocker, violates, count)
    assert {n for n, s in SETS.items() if s.held_out} == set(MIN_HELD_OUT_DETECTION)
    texts = [p.text for s in SETS.values() for p in s.phrasings]
    assert len(texts) == len(set(texts))
    assert any(_language(t) == "es" for t in texts)


@pytest.mark.parametrize(
    ("name", "phrasing"), TUNING, ids=[f"{n}:{p.blocker}:{p.text[:40]}" for n, p in TUNING]
)
@pytest.mark.parametrize("rubric", [FI_OFFICE_V2, FI_OFFICE_V3], ids=["v2", "v3"])
async def test_tuning_phrasings_under_v2_and_v3(
    name: str, phrasing: Phrasing, rubric: Rubric
) -> None:
    failed = await failed_blockers(rubric, phrasing.text)
    if phrasing.violates:
        assert phrasing.blocker in failed
    else:
        assert failed == frozenset()


@pytest.mark.parametrize("name", sorted(MIN_HELD_OUT_DETECTION))
async def test_held_out_phrasings(name: str) -> None:
    phrasings = SETS[name].phrasings
    violations = [p for p in phrasings if p.violates]
    near_misses = [p for p in phrasings if not p.violates]
    caught = {1: 0, 2: 0, 3: 0}
    for rubric in (FI_OFFICE_V1, FI_OFFICE_V2, FI_OFFICE_V3):
        for p in violations:
            caught[rubric.version] += p.blocker in await failed_blockers(rubric, p.text)
    passed = {2: 0, 3: 0}
    for rubric in (FI_OFFICE_V2, FI_OFFICE_V3):
        for p in near_misses:
            passed[rubric.version] += not await failed_blockers(rubric, p.text)
    print(  # noqa: T201
        f"\n{name}: v3 caught {caught[3]}/{len(violations)} violations (v2 {caught[2]}, "
        f"v1 {caught[1]}), passed {passed[3]}/{len(near_misses)} near-misses (v2 {passed[2]})"
    )
    assert caught[3] / len(violations) >= MIN_HELD_OUT_DETECTION[name]
    assert caught[3] > caught[1]
    assert passed[3] / len(near_misses) >= MIN_NEAR_MISS_PASSED
    assert passed[3] >= passed[2], "v3 passes every near-miss v2 passes"


@pytest.mark.parametrize(
    ("blocker", "text"),
    [
        ("no_misrepresentation", "Your insurance won't cover that, trust me."),
        ("optional_not_tied_to_credit", "You need to sign here for the warranty and GAP."),
    ],
)
async def test_v1_is_unchanged_and_v2_fails_the_wordings_v1_missed(blocker: str, text: str) -> None:
    assert await failed_blockers(FI_OFFICE_V1, text) == frozenset()
    assert await failed_blockers(FI_OFFICE_V2, text) == {blocker}
    v1_checks = [k for c in FI_OFFICE_V1.criteria for k in c.checks]
    assert all(k.unless == () for k in v1_checks)


@pytest.mark.parametrize(
    "text",
    [
        "I would never tell you it's required.",
        "You said \"my insurance won't cover that\", so let's check your policy together.",
        "Some customers think the bank requires GAP, but it doesn't.",
        "Some customers think it's optional, but the bank requires GAP.",
    ],
)
async def test_negation_quotes_and_attribution_stay_clause_bound(text: str) -> None:
    failed = await failed_blockers(FI_OFFICE_V2, text)
    assert failed == (
        {"optional_not_tied_to_credit"} if text.endswith("the bank requires GAP.") else set()
    )


@pytest.mark.parametrize(
    "text",
    [
        "I understand, many customers feel their insurance covers everything. What does "
        "your policy pay if the car is totalled while you owe more than it is worth?",
        "You mentioned the warranty covers any repair; let's read what it lists together.",
        "A lot of my customers figure their insurance won't cover a windshield chip.",
        "Muchos clientes sienten que su seguro cubre todo. ¿Qué le paga su póliza si el carro "
        "es pérdida total?",
    ],
)
async def test_v3_passes_a_belief_the_trainee_restates_to_question_it(text: str) -> None:
    """The demo's false positive (v2 failed the first text) and its kind."""
    assert await failed_blockers(FI_OFFICE_V3, text) == frozenset()


@pytest.mark.parametrize(
    ("text", "v2_too"),
    [
        ("Many customers feel that way, but your insurance won't cover it.", True),
        ("Your insurance won't cover that, trust me.", True),
        ("Su seguro no le va a cubrir eso.", True),
        ("This plan covers any repair, whatever you feel about it.", True),
    ],
)
async def test_v3_still_fails_the_trainees_own_claim(text: str, v2_too: bool) -> None:
    assert await failed_blockers(FI_OFFICE_V3, text) == {"no_misrepresentation"}
    assert (await failed_blockers(FI_OFFICE_V2, text) == {"no_misrepresentation"}) is v2_too
