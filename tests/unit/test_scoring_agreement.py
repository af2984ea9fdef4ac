"""The `rules` scorer against the trainer's labels (tests/data/transcripts, README there),
with the real sentence splitter and the real local embedder (multilingual-e5-small, the
product default): no skip, a missing model fails the module.

Thresholds, and why:

- **Blockers: 100 %.** `blockers_failed` must equal the label on every transcript: a
  false violation fails a trainee who did nothing wrong, a missed one passes a session
  that broke the law. Either is a defect to fix in the patterns, never a rate to live
  with.
- **Per-check agreement over all transcripts ≥ 95 %** (measured 97.5 %, 577/592, with
  fi-office v2; the first 32 transcripts agree as they did with v1, 497/512): at most
  one verdict in twenty may differ from the trainer's. The rest of the margin absorbs a
  tie at the similarity threshold moving with the CPU's float rounding.
- **Held-out transcripts ≥ 80 %** (measured 86.2 %, 69/80 on the five never used for
  tuning). Each round of fresh transcripts scored before any tuning measured 76.6 %
  (t19-t22), 71.9 % (t23-t26), 85.4 % (t27-t29), 79.2 % (t30-t32) and 95.0 % (t33-t37)
  per check, and missed 1 to 4 of each round's blocker verdicts (round 6: all four
  violations, with v1 and with v2's first patterns): phrase patterns cover the
  wordings they were written for, and a trainer's paraphrase of a discovery question or
  of a close is often new to them. The README records those rounds; the bar keeps the
  scorer from falling below what it shows on text it has never seen.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from avataradam.adapters.embeddings.e5 import E5Embedder
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.fi_office_v3 import FI_OFFICE_V3
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import Message, Scorecard, Transcript

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "data" / "transcripts"
MIN_AGREEMENT = 0.95
MIN_HELD_OUT_AGREEMENT = 0.80
RUBRIC = FI_OFFICE_V3
"""The labels are a trainer's verdicts per check; v2 has v1's checks, scored with v2's
blockers (v1 measured 96.8 % overall and missed 4 of the 37 blocker verdicts: t33-t36)."""


class Case(msgspec.Struct, frozen=True):
    name: str
    held_out: bool
    transcript: Transcript
    checks: dict[str, bool | None]
    blockers_failed: frozenset[str]
    passed: bool


def _cases() -> list[Case]:
    cases = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        data = json.loads(path.read_text())
        cases.append(
            Case(
                name=path.stem,
                held_out=data["held_out"],
                transcript=Transcript(
                    messages=tuple(Message(**m) for m in data["messages"]),
                    language=data["language"],
                ),
                checks=data["expected"]["checks"],
                blockers_failed=frozenset(data["expected"]["blockers_failed"]),
                passed=data["expected"]["passed"],
            )
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def scorer() -> RulesScorer:
    embedder = E5Embedder()
    embedder.warm_up()
    return RulesScorer(spans=sentence_spans, embedder=embedder)


@pytest.fixture(scope="module")
async def cards(scorer: RulesScorer) -> dict[str, Scorecard]:
    return {case.name: await scorer.score(RUBRIC, case.transcript) for case in CASES}


def _verdicts(card: Scorecard) -> dict[str, bool | None]:
    return {c.id: (c.passed if c.applicable else None) for r in card.criteria for c in r.checks}


def _agreement(cases: list[Case], cards: dict[str, Scorecard]) -> tuple[int, int]:
    agree = total = 0
    per_check: dict[str, list[int]] = {}
    for case in cases:
        got = _verdicts(cards[case.name])
        for check_id, want in case.checks.items():
            ok = got[check_id] == want
            agree, total = agree + ok, total + 1
            per_check.setdefault(check_id, [0, 0])
            per_check[check_id][0] += ok
            per_check[check_id][1] += 1
    for check_id, (a, t) in per_check.items():
        print(f"  {check_id:32s} {a:2d}/{t:2d} {a / t:6.1%}")  # noqa: T201
    return agree, total


def test_the_set_is_what_the_issue_asks_for() -> None:
    names = " ".join(c.name for c in CASES)
    assert len(CASES) >= 16
    assert sum(c.transcript.language == "es" for c in CASES) >= 2
    for blocker in ("optional_not_tied_to_credit", "no_payment_packing"):
        assert any(blocker in c.blockers_failed for c in CASES)
    for blocker in ("no_misrepresentation", "no_false_urgency"):
        assert any(blocker in c.blockers_failed for c in CASES)
    for kind in (
        "exemplary",
        "average",
        "weak",
        "negated",
        "quotes_customer",
        "very_short",
        "agrees_early",
    ):
        assert kind in names
    assert any(c.held_out for c in CASES)
    assert BUILT_IN_RUBRICS.latest("fi-office") is RUBRIC
    assert {k for c in CASES for k in c.checks} == {k.id for _, k in RUBRIC.checks()}


async def test_blockers_agree_on_every_transcript(cards: dict[str, Scorecard]) -> None:
    wrong = {
        c.name: sorted(cards[c.name].blockers_failed)
        for c in CASES
        if frozenset(cards[c.name].blockers_failed) != c.blockers_failed
    }
    assert wrong == {}


async def test_per_check_agreement(cards: dict[str, Scorecard]) -> None:
    print("\nper-check agreement, all transcripts")  # noqa: T201
    agree, total = _agreement(CASES, cards)
    print(f"  overall {agree}/{total} = {agree / total:.1%}")  # noqa: T201
    assert agree / total >= MIN_AGREEMENT


async def test_held_out_agreement(cards: dict[str, Scorecard]) -> None:
    held_out = [c for c in CASES if c.held_out]
    print("\nper-check agreement, held-out transcripts")  # noqa: T201
    agree, total = _agreement(held_out, cards)
    print(f"  overall {agree}/{total} = {agree / total:.1%}")  # noqa: T201
    assert agree / total >= MIN_HELD_OUT_AGREEMENT


async def test_every_quote_is_the_trainees_own_words(cards: dict[str, Scorecard]) -> None:
    for case in CASES:
        trainee = {m.id: m.text for m in case.transcript.messages if m.role == "user"}
        for result in cards[case.name].criteria:
            for check in result.checks:
                for piece in check.evidence:
                    assert piece.quote.strip()
                    assert piece.quote in trainee[piece.message_id]


async def test_the_same_input_gives_the_same_scorecard(
    scorer: RulesScorer, cards: dict[str, Scorecard]
) -> None:
    for case in CASES[:6]:
        again = await scorer.score(RUBRIC, case.transcript)
        assert msgspec.json.encode(again) == msgspec.json.encode(cards[case.name])
