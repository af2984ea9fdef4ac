"""The `llm` scorer: a chat model judges each check, verified, `rules` where it fails.

`LlmJudge.score` (the `Scorer` port) runs the `rules` scorer on the transcript, then
asks the chat model for every check's verdict and quotes as JSON matching a schema
(`domain.training.judge_prompt`; temperature 0, so the same model and prompt give the
same answer, and everything after the answer is deterministic). The answer is decoded
strictly (msgspec). Each check is then decided by the judge only when its entry passes
every test below; otherwise that check takes the `rules` scorer's result and the
scorecard says why (`ScorerRef.fell_back`, reasons in `FallbackReason`):

- `invalid_output`: the reply is not JSON of the required shape (all checks fall back);
- `missing`: no entry has the check's id (an entry under an id not in the rubric is
  ignored, so the check it was meant to be is missing);
- `unverified_quote`: a quote is not a non-blank verbatim substring of the TRAINEE
  message (role `user`) it names: a customer message, an unknown number, a paraphrase;
- `customer_words`: a quote lies wholly in customer speech the trainee repeats (text
  in quotation marks, "you said …": `speech.mask_customer_speech`);
- `no_evidence`: a check that needs evidence passed (or a prohibition failed) with no
  quote;
- `not_applicable_claim`: "not applicable" for a check that always applies (only the
  objection checks may be not applicable);
- `blocker_upheld`: the compliance policy below.

Compliance policy (blocker criteria): a check of a blocker criterion that the `rules`
scorer failed stays failed, whatever the judge says. The judge may fail a blocker check
the rules passed (with a verified quote of the violating words: a prohibition cannot
fail without one), but never clear one: a compliance verdict must be right or absent,
and the rules' failure always cites the trainee's own verified words for a trainer to
read. So a blocker fails when either scorer, with verified evidence, finds a violation.
"""

from __future__ import annotations

import msgspec

from avataradam.domain.ports.scoring import Scorer
from avataradam.domain.ports.services import ChatModel
from avataradam.domain.training.assembly import assemble_scorecard, criterion_result
from avataradam.domain.training.judge_prompt import (
    MAX_QUOTES,
    JudgeAnswer,
    JudgePrompt,
    JudgeVerdict,
    judge_prompt,
    reply_format,
)
from avataradam.domain.training.rubrics import Check, Criterion, Rubric
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Evidence,
    Fallback,
    FallbackReason,
    Scorecard,
    ScorerRef,
    Transcript,
)
from avataradam.domain.training.speech import mask_customer_speech

JUDGE_MAX_TOKENS = 2048
"""Reply budget (tokens): the fi-office rubric's 16 checks with up to three short quotes
each fit in about 1,500 tokens of JSON; a reply cut off at the budget is invalid output
(every check falls back). A local model's context must hold the prompt (1,000-2,000
tokens for a 10-20 turn session) plus this."""


class _Decision(msgspec.Struct, frozen=True, kw_only=True):
    result: CheckResult
    fallback: FallbackReason | None = None


class LlmJudge:
    """Implements `Scorer` (`kind: llm`).

    `model`: the chat model to judge with (generative; ValueError otherwise); `rules`:
    the scorer a check falls back to (`RulesScorer` in production); `max_tokens`: the
    judge's reply budget. Raises what `rules` raises, and `ChatModelUnavailable` when the
    model cannot answer (the scoring task retries): a model that answers badly is
    fallback, a model that does not answer is an outage.
    """

    def __init__(
        self, *, model: ChatModel, rules: Scorer, max_tokens: int = JUDGE_MAX_TOKENS
    ) -> None:
        if not model.generative:
            raise ValueError(f"the llm scorer needs a generative chat model, not {model.name}")
        if max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        self._model = model
        self._rules = rules
        self._max_tokens = max_tokens

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard:
        ruled = await self._rules.score(rubric, transcript)
        by_rules = {c.id: c for criterion in ruled.criteria for c in criterion.checks}
        prompt = judge_prompt(rubric, transcript)
        answer = _decode(await self._ask(prompt, rubric))
        results: list[CriterionResult] = []
        judged: list[str] = []
        fell_back: list[Fallback] = []
        for criterion in rubric.criteria:
            checks: list[CheckResult] = []
            for check in criterion.checks:
                decision = _decide(criterion, check, answer, prompt, transcript, by_rules)
                checks.append(decision.result)
                if decision.fallback is None:
                    judged.append(check.id)
                else:
                    fell_back.append(Fallback(id=check.id, reason=decision.fallback))
            results.append(criterion_result(criterion, tuple(checks), transcript.language))
        scorecard = assemble_scorecard(rubric, results)
        ref = ScorerRef(
            kind="llm", model=self._model.name, judged=tuple(judged), fell_back=tuple(fell_back)
        )
        return msgspec.structs.replace(scorecard, scorer=ref)

    async def _ask(self, prompt: JudgePrompt, rubric: Rubric) -> str:
        parts = [
            delta.text
            async for delta in self._model.stream(
                prompt.turns,
                max_tokens=self._max_tokens,
                reply_format=reply_format(rubric),
                temperature=0.0,
            )
        ]
        return "".join(parts)


def _decode(text: str) -> JudgeAnswer | None:
    """The answer, or None when it is not JSON of exactly the `JudgeAnswer` shape."""
    try:
        return msgspec.json.decode(text.strip().encode(), type=JudgeAnswer)
    except msgspec.DecodeError:  # ValidationError is a DecodeError
        return None


def _decide(
    criterion: Criterion,
    check: Check,
    answer: JudgeAnswer | None,
    prompt: JudgePrompt,
    transcript: Transcript,
    by_rules: dict[str, CheckResult],
) -> _Decision:
    """The check's result: the judge's when it holds up, else the rules' with a reason."""
    ruled = by_rules[check.id]
    if answer is None:
        return _Decision(result=ruled, fallback="invalid_output")
    verdict = answer.checks.get(check.id)
    if verdict is None:
        return _Decision(result=ruled, fallback="missing")
    judged = _judged(check, verdict, prompt, transcript)
    if isinstance(judged, str):
        return _Decision(result=ruled, fallback=judged)
    if criterion.blocker and ruled.applicable and not ruled.passed and judged.passed:
        return _Decision(result=ruled, fallback="blocker_upheld")
    return _Decision(result=judged)


def _judged(
    check: Check, verdict: JudgeVerdict, prompt: JudgePrompt, transcript: Transcript
) -> CheckResult | FallbackReason:
    """The judge's verdict on one check as a result, or why it cannot be used."""
    evidence: list[Evidence] = []
    for piece in verdict.quotes:
        message_id = prompt.message_id(piece.message_id)
        text = transcript.trainee_text(message_id) if message_id is not None else None
        if text is None or not piece.quote.strip() or piece.quote not in text:
            return "unverified_quote"
        if not _own_words(text, piece.quote):
            return "customer_words"
        quoted = Evidence(message_id=message_id or "", quote=piece.quote)
        if quoted not in evidence:
            evidence.append(quoted)
    if not verdict.applicable:
        if check.context == "anywhere":
            return "not_applicable_claim"
        return CheckResult(id=check.id, passed=False, applicable=False)
    if check.needs_evidence and not evidence and verdict.passed != check.forbidden:
        return "no_evidence"
    return CheckResult(id=check.id, passed=verdict.passed, evidence=tuple(evidence[:MAX_QUOTES]))


def _own_words(text: str, quote: str) -> bool:
    """Whether some occurrence of `quote` in `text` holds a word character that is the
    trainee's own, not customer speech the trainee repeats."""
    masked = mask_customer_speech(text)
    start = text.find(quote)
    while start != -1:
        if any(ch.isalnum() for ch in masked[start : start + len(quote)]):
            return True
        start = text.find(quote, start + 1)
    return False
