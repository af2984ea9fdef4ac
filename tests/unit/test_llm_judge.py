"""The `llm` scorer with a scripted chat model (the port's double): what the judge asks,
how strictly its answer is read, and which checks fall back to `rules` and why.
(The real local server and small model: tests/integration/test_llm_judge_local.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from avataradam.adapters.llm.metered import MeteredChatModel
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModelUnavailable,
    ChatTurn,
    Grounding,
    ReplyFormat,
)
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.judge_prompt import judge_prompt
from avataradam.domain.training.llm_judge import LlmJudge
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import (
    CheckResult,
    Message,
    Scorecard,
    ScorerRef,
    Transcript,
)

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "data" / "transcripts"
RUBRIC = FI_OFFICE_V1
RULES = RulesScorer(spans=sentence_spans, embedder=None)
CHECK_IDS = [check.id for _, check in RUBRIC.checks()]
PROHIBITIONS = {check.id for _, check in RUBRIC.checks() if check.forbidden}
OBJECTION_CHECKS = {check.id for _, check in RUBRIC.checks() if check.context != "anywhere"}


def transcript(name: str) -> Transcript:
    data = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    return Transcript(
        messages=tuple(Message(**m) for m in data["messages"]), language=data["language"]
    )


EXEMPLARY = transcript("t01_exemplary_vsc_en")  # m1..m12, m1 the trainee's
CREDIT_TIE = transcript("t04_blocker_credit_en")
QUOTES_CUSTOMER = transcript("t09_quotes_customer_en")


class ScriptedModel:
    """A `ChatModel` that answers `reply` in three pieces and records each request."""

    def __init__(self, reply: str, *, generative: bool = True, fail: bool = False) -> None:
        self.name = "judge-double"
        self.generative = generative
        self.reply = reply
        self.fail = fail
        self.requests: list[dict[str, Any]] = []

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,
        reply_format: ReplyFormat | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatDelta]:
        self.requests.append(
            {
                "turns": tuple(turns),
                "max_tokens": max_tokens,
                "grounding": grounding,
                "reply_format": reply_format,
                "temperature": temperature,
            }
        )
        if self.fail:
            raise ChatModelUnavailable("model down")
        third = max(1, len(self.reply) // 3)
        for start in range(0, len(self.reply), third):
            yield ChatDelta(text=self.reply[start : start + third])


def entry(
    check_id: str, *, passed: bool, quotes: Sequence[tuple[int, str]] = (), applicable: bool = True
) -> dict[str, Any]:
    return {
        "id": check_id,
        "applicable": applicable,
        "quotes": [{"message_id": n, "quote": q} for n, q in quotes],
        "passed": passed,
    }


# t01: numbered as its ids (m1 is [1]); a verified quote for every check that passed.
T01_QUOTES: dict[str, tuple[int, str]] = {
    "asked_ownership_horizon": (1, "how long are you planning to keep this one?"),
    "asked_mileage": (3, "roughly how many miles do you drive in a year?"),
    "asked_usage": (5, "do you also tow or take road trips with it?"),
    "asked_budget": (5, "what monthly payment did you have in mind when you came in?"),
    "acknowledged_before_answering": (9, "That's completely fair"),
    "clarified_concern": (9, "Can I ask what part you'd want to think about"),
    "stated_value": (7, "A service contract pays for those repairs"),
    "value_before_price": (7, "A service contract pays for those repairs"),
    "presented_menu": (7, "Here's a menu with your options side by side."),
    "showed_base_payment": (7, "Your base payment, with no products at all, is $642 a month."),
    "stated_optional": (7, "All of these products are optional"),
    "clear_ask": (11, "Which of these options works best for you?"),
}


def answer_of(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The judge's answer shape: entries keyed by their id."""
    return {"checks": {e["id"]: {k: v for k, v in e.items() if k != "id"} for e in entries}}


def t01_answer(**overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Every check of t01 judged as the trainer labelled it; `overrides` replace (or,
    with None, remove) entries by check id."""
    checks = []
    for check_id in CHECK_IDS:
        if check_id in overrides:
            replaced = overrides[check_id]
            if replaced is not None:
                checks.append(replaced)
            continue
        quote = T01_QUOTES.get(check_id)
        checks.append(entry(check_id, passed=True, quotes=[quote] if quote else []))
    return answer_of(checks)


async def judge(reply: str | dict[str, Any], scripted: Transcript = EXEMPLARY) -> Scorecard:
    text = reply if isinstance(reply, str) else json.dumps(reply)
    return await LlmJudge(model=ScriptedModel(text), rules=RULES).score(RUBRIC, scripted)


def ref(card: Scorecard) -> ScorerRef:
    assert isinstance(card.scorer, ScorerRef)
    return card.scorer


def result(card: Scorecard, check_id: str) -> CheckResult:
    return next(c for r in card.criteria for c in r.checks if c.id == check_id)


def fallbacks(card: Scorecard) -> dict[str, str]:
    return {f.id: f.reason for f in ref(card).fell_back}


def assert_partition(card: Scorecard) -> None:
    """Every check is judged or fell back, exactly once, in rubric order."""
    scorer = ref(card)
    decided = [*scorer.judged, *(f.id for f in scorer.fell_back)]
    assert sorted(decided) == sorted(CHECK_IDS)
    assert len(decided) == len(set(decided))


# ------------------------------------------------------------------ the request


async def test_the_judge_asks_once_at_temperature_0_with_the_schema_and_numbered_transcript() -> (
    None
):
    model = ScriptedModel(json.dumps(t01_answer()))
    await LlmJudge(model=model, rules=RULES, max_tokens=2000).score(RUBRIC, EXEMPLARY)

    [request] = model.requests
    assert request["temperature"] == 0.0
    assert request["max_tokens"] == 2000
    checks = request["reply_format"].schema["properties"]["checks"]
    assert checks["required"] == list(checks["properties"]) == CHECK_IDS
    assert checks["additionalProperties"] is False
    system, user = request["turns"]
    assert system.role == "system"
    assert "[1] TRAINEE: Hi Maria" in user.content
    assert "[2] CUSTOMER: Probably six or seven years." in user.content
    assert "- not_tied_to_credit: Never said or implied" in user.content
    assert "(prohibition)" in user.content
    assert all(f"- {check_id}:" in user.content for check_id in CHECK_IDS)


def test_prompt_numbers_map_back_to_message_ids() -> None:
    prompt = judge_prompt(RUBRIC, EXEMPLARY)

    assert prompt.message_id(1) == "m1"
    assert prompt.message_id(12) == "m12"
    assert prompt.message_id(0) is None
    assert prompt.message_id(13) is None


async def test_the_metered_chat_model_passes_the_format_and_temperature_through() -> None:
    inner = ScriptedModel(json.dumps(t01_answer()))

    @contextmanager
    def timer(_operation: str, _attributes: dict[str, str | int | float | bool]) -> Iterator[Any]:
        yield lambda _name, _value: None

    metered = MeteredChatModel(inner, time_call=timer, record_tokens=lambda *_: None)
    card = await LlmJudge(model=metered, rules=RULES).score(RUBRIC, EXEMPLARY)

    [request] = inner.requests
    assert request["temperature"] == 0.0
    assert request["reply_format"] is not None
    assert ref(card).judged == tuple(CHECK_IDS)


def test_a_non_generative_model_cannot_judge() -> None:
    with pytest.raises(ValueError, match="generative"):
        LlmJudge(model=ScriptedModel("", generative=False), rules=RULES)


async def test_a_model_that_cannot_answer_is_an_outage_not_a_fallback() -> None:
    model = ScriptedModel("", fail=True)
    with pytest.raises(ChatModelUnavailable):
        await LlmJudge(model=model, rules=RULES).score(RUBRIC, EXEMPLARY)


# ------------------------------------------------------------------ valid output


async def test_valid_output_decides_every_check_with_its_verified_quotes() -> None:
    card = await judge(t01_answer())

    scorer = ref(card)
    assert (scorer.kind, scorer.model) == ("llm", "judge-double")
    assert scorer.judged == tuple(CHECK_IDS)
    assert scorer.fell_back == ()
    assert result(card, "clear_ask").evidence[0].message_id == "m11"
    assert result(card, "clear_ask").evidence[0].quote == T01_QUOTES["clear_ask"][1]
    assert card.passed is True
    assert card.overall == 100
    assert card.blockers_failed == ()


async def test_the_judges_verdict_wins_over_the_rules_where_it_holds_up() -> None:
    rules_card = await RULES.score(RUBRIC, EXEMPLARY)
    assert result(rules_card, "asked_usage").passed is True

    card = await judge(t01_answer(asked_usage=entry("asked_usage", passed=False)))

    assert result(card, "asked_usage") == CheckResult(id="asked_usage", passed=False)
    assert "asked_usage" in ref(card).judged
    discovery = next(r for r in card.criteria if r.id == "rapport_discovery")
    assert (discovery.score, discovery.verdict) == (75, "met")


async def test_an_objection_check_may_be_judged_not_applicable() -> None:
    answer = t01_answer(
        clarified_concern=entry("clarified_concern", passed=False, applicable=False)
    )
    card = await judge(answer)

    assert result(card, "clarified_concern").applicable is False
    assert "clarified_concern" in ref(card).judged


async def test_the_scorer_ref_encodes_what_was_judged_and_what_fell_back() -> None:
    card = await judge(t01_answer(clear_ask=None))

    encoded = msgspec.to_builtins(card)["scorer"]
    assert encoded["kind"] == "llm"
    assert encoded["model"] == "judge-double"
    assert "clear_ask" not in encoded["judged"]
    assert list(encoded["fell_back"]) == [{"id": "clear_ask", "reason": "missing"}]
    assert json.loads(msgspec.json.encode(card))["scorer"]["fell_back"] == [
        {"id": "clear_ask", "reason": "missing"}
    ]


# ------------------------------------------------------------------ fallback


@pytest.mark.parametrize(
    "reply",
    [
        "not json at all",
        json.dumps(t01_answer())[:200],  # cut off mid-answer (max_tokens)
        "",
        json.dumps(answer_of([{**entry(i, passed=True), "passed": "yes"} for i in CHECK_IDS])),
        json.dumps({**t01_answer(), "comment": "extra field"}),
        json.dumps(t01_answer()["checks"]),  # the checks without their wrapper
        json.dumps({"checks": [entry(i, passed=False) for i in CHECK_IDS]}),  # a list
    ],
    ids=["prose", "cut-off", "empty", "wrong-type", "unknown-field", "unwrapped", "list"],
)
async def test_invalid_output_makes_every_check_fall_back_to_rules(reply: str) -> None:
    rules_card = await RULES.score(RUBRIC, EXEMPLARY)

    card = await judge(reply)

    assert fallbacks(card) == dict.fromkeys(CHECK_IDS, "invalid_output")
    assert ref(card).judged == ()
    assert card.criteria == rules_card.criteria
    assert (card.overall, card.passed, card.blockers_failed) == (
        rules_card.overall,
        rules_card.passed,
        rules_card.blockers_failed,
    )


async def test_a_missing_check_falls_back_and_the_others_are_judged() -> None:
    rules_card = await RULES.score(RUBRIC, EXEMPLARY)

    card = await judge(t01_answer(asked_budget=None))

    assert fallbacks(card) == {"asked_budget": "missing"}
    assert result(card, "asked_budget") == result(rules_card, "asked_budget")
    assert len(ref(card).judged) == len(CHECK_IDS) - 1
    assert_partition(card)


async def test_an_id_not_in_the_rubric_is_ignored_so_its_check_is_missing() -> None:
    answer = t01_answer(
        clear_ask=entry("closed_the_deal", passed=True, quotes=[T01_QUOTES["clear_ask"]])
    )
    card = await judge(answer)

    assert fallbacks(card) == {"clear_ask": "missing"}
    assert "closed_the_deal" not in ref(card).judged
    assert_partition(card)


@pytest.mark.parametrize(
    "quote",
    [
        (7, "A service contract pays for all repairs"),  # paraphrase
        (7, "a service contract pays for those repairs"),  # case changed
        (99, "A service contract pays for those repairs"),  # no message 99
        (0, "A service contract pays for those repairs"),
        (7, "   "),  # blank
    ],
    ids=["paraphrase", "case", "no-such-message", "zero", "blank"],
)
async def test_an_unverifiable_quote_falls_back(quote: tuple[int, str]) -> None:
    rules_card = await RULES.score(RUBRIC, EXEMPLARY)

    card = await judge(t01_answer(stated_value=entry("stated_value", passed=True, quotes=[quote])))

    assert fallbacks(card) == {"stated_value": "unverified_quote"}
    assert result(card, "stated_value") == result(rules_card, "stated_value")


async def test_one_bad_quote_among_good_ones_makes_the_check_fall_back() -> None:
    quotes = [T01_QUOTES["stated_value"], (7, "it covers everything forever")]

    card = await judge(t01_answer(stated_value=entry("stated_value", passed=True, quotes=quotes)))

    assert fallbacks(card) == {"stated_value": "unverified_quote"}


async def test_a_quote_of_the_customers_message_is_rejected() -> None:
    # [8] is the customer's "I'll think about it": verbatim, but not the trainee's.
    quote = (8, "Hmm. I'll think about it.")
    answer = t01_answer(clear_ask=entry("clear_ask", passed=True, quotes=[quote]))

    card = await judge(answer)

    assert fallbacks(card) == {"clear_ask": "unverified_quote"}
    assert all(e.message_id != "m8" for r in card.criteria for c in r.checks for e in c.evidence)


async def test_a_quote_of_customer_words_the_trainee_repeats_is_rejected() -> None:
    # t09 [2]: the trainee repeats the customer's "the warranty was required for the bank
    # to approve me" inside quotation marks: not the trainee's own statement.
    quote = (2, "the warranty was required for the bank to approve me")
    answer = plain_answer(entry("not_tied_to_credit", passed=False, quotes=[quote]))

    card = await judge(answer, QUOTES_CUSTOMER)

    assert fallbacks(card) == {"not_tied_to_credit": "customer_words"}
    assert result(card, "not_tied_to_credit").passed is True  # the rules' verdict
    assert card.blockers_failed == ()


async def test_a_passed_check_without_a_quote_falls_back() -> None:
    card = await judge(t01_answer(clear_ask=entry("clear_ask", passed=True)))

    assert fallbacks(card) == {"clear_ask": "no_evidence"}


async def test_a_check_that_always_applies_cannot_be_judged_not_applicable() -> None:
    answer = t01_answer(clear_ask=entry("clear_ask", passed=False, applicable=False))

    card = await judge(answer)

    assert fallbacks(card) == {"clear_ask": "not_applicable_claim"}
    assert result(card, "clear_ask").applicable is True


# ------------------------------------------------------------------ blockers


def plain_answer(*replaced: dict[str, Any]) -> dict[str, Any]:
    """Nothing done, no prohibition broken, no objection raised; then `replaced`."""
    by_id = {e["id"]: e for e in replaced}
    return answer_of(
        [
            by_id.get(check_id)
            or entry(
                check_id,
                passed=check_id in PROHIBITIONS,
                applicable=check_id not in OBJECTION_CHECKS,
            )
            for check_id in CHECK_IDS
        ]
    )


async def test_the_judge_cannot_clear_a_blocker_the_rules_failed() -> None:
    rules_card = await RULES.score(RUBRIC, CREDIT_TIE)
    assert rules_card.blockers_failed == ("optional_not_tied_to_credit",)

    card = await judge(plain_answer(entry("not_tied_to_credit", passed=True)), CREDIT_TIE)

    assert fallbacks(card) == {"not_tied_to_credit": "blocker_upheld"}
    assert result(card, "not_tied_to_credit") == result(rules_card, "not_tied_to_credit")
    assert result(card, "not_tied_to_credit").evidence  # the rules cite the trainee
    assert card.blockers_failed == ("optional_not_tied_to_credit",)
    assert card.passed is False


async def test_the_judge_agreeing_on_a_failed_blocker_is_judged_with_its_quote() -> None:
    quote = (5, "the bank will only approve the loan if we put GAP on it")

    card = await judge(
        plain_answer(entry("not_tied_to_credit", passed=False, quotes=[quote])), CREDIT_TIE
    )

    assert "not_tied_to_credit" in ref(card).judged
    assert result(card, "not_tied_to_credit").evidence[0].quote == quote[1]
    assert card.blockers_failed == ("optional_not_tied_to_credit",)


async def test_the_judge_may_fail_a_blocker_the_rules_passed_only_with_a_verified_quote() -> None:
    rules_card = await RULES.score(RUBRIC, EXEMPLARY)
    assert result(rules_card, "no_false_urgency").passed is True
    quote = (11, "Option two keeps you at $671")
    flagged = t01_answer(no_false_urgency=entry("no_false_urgency", passed=False, quotes=[quote]))
    unsupported = t01_answer(no_false_urgency=entry("no_false_urgency", passed=False))

    card = await judge(flagged)
    without_quote = await judge(unsupported)

    assert card.blockers_failed == ("no_false_urgency",)
    assert card.passed is False
    assert fallbacks(without_quote) == {"no_false_urgency": "no_evidence"}
    assert without_quote.blockers_failed == ()
