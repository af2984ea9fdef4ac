"""What the `llm` judge asks the chat model, and the shape its answer must have.

The prompt lists the rubric's checks (id, description, and how to answer a prohibition
or an objection check) and the transcript with every message numbered from 1 and
labelled TRAINEE (role `user`) or CUSTOMER (role `assistant`). The model answers one
JSON object keyed by check id, `{"checks": {"<id>": {"applicable", "quotes":
[{"message_id", "quote"}], "passed"}, ...}}`, where `message_id` is the number shown in
the transcript (short numbers are copied more reliably than UUIDs;
`JudgePrompt.message_ids` maps them back). `reply_format` gives the same shape as a
JSON Schema with every check id a required property in rubric order, which
OpenAI-compatible servers enforce (llama.cpp turns it into a grammar, so even a tiny
model writes each check once); the judge still parses and verifies every answer.
"""

from __future__ import annotations

import msgspec

from avataradam.domain.ports.services import ChatTurn, ReplyFormat
from avataradam.domain.training.rubrics import Check, Rubric
from avataradam.domain.training.scorecard import Transcript

MAX_QUOTES = 3
"""Quotes the judge may give per check (the `rules` scorer keeps as many)."""

_SYSTEM = (
    "You are a strict, fair trainer of F&I (finance and insurance) managers at US car "
    "dealerships. You grade a practice roleplay: the TRAINEE is the F&I manager being "
    "graded, the CUSTOMER is played by an AI. Judge only what the TRAINEE said. Answer "
    "with one JSON object and nothing else."
)

_INSTRUCTIONS = """\
For every check above, in the same order, give one entry under its id:
- "applicable": false only for a check marked "objection check" when the CUSTOMER \
raised no objection; true otherwise;
- "quotes": evidence, at most {max_quotes}: each {{"message_id": the number of a \
TRAINEE message, "quote": a short phrase (at most 15 words) copied EXACTLY, \
character for character, from that message}}. Never quote the CUSTOMER, nor the \
TRAINEE repeating the CUSTOMER's words. For a check that passed, quote where the \
TRAINEE did it; for a prohibition that failed, quote the violating words; otherwise \
give [];
- "passed": true when the TRAINEE did what the check asks (for a prohibition: never \
did the forbidden thing), false otherwise.
A check that passed needs a quote; a prohibition can fail only with a quote.
Answer: {{"checks": {{"<check id>": {{"applicable": true, "quotes": [...], \
"passed": true}}, ...}}}}"""


class JudgeQuote(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message_id: int
    """The message's number in the prompt's transcript (1-based)."""
    quote: str


class JudgeVerdict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    applicable: bool
    quotes: tuple[JudgeQuote, ...]
    passed: bool


class JudgeAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The judge's whole answer, decoded strictly (`msgspec.json.decode(..., type=...)`:
    no coercion, no unknown field, every field required). `checks` by check id; ids not
    in the rubric are the judge's mistake and are ignored."""

    checks: dict[str, JudgeVerdict]


class JudgePrompt(msgspec.Struct, frozen=True, kw_only=True):
    """The turns to send and `message_ids[n - 1]`, the id of the message numbered n."""

    turns: tuple[ChatTurn, ...]
    message_ids: tuple[str, ...]

    def message_id(self, number: int) -> str | None:
        """The id of the message numbered `number` in the prompt, or None."""
        return self.message_ids[number - 1] if 1 <= number <= len(self.message_ids) else None


def _check_line(check: Check) -> str:
    notes = []
    if check.forbidden:
        notes.append("prohibition")
    if check.context != "anywhere":
        notes.append("objection check: about the TRAINEE's replies to CUSTOMER objections")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return f"- {check.id}: {check.description}{suffix}"


def judge_prompt(rubric: Rubric, transcript: Transcript) -> JudgePrompt:
    """The system and user turns asking for the verdict on every check of `rubric`."""
    checks = "\n".join(_check_line(check) for _, check in rubric.checks())
    lines = [
        f"[{number}] {'TRAINEE' if m.role == 'user' else 'CUSTOMER'}: {m.text}"
        for number, m in enumerate(transcript.messages, start=1)
    ]
    user = (
        f"Rubric: {rubric.title}\n\nChecks:\n{checks}\n\n"
        f"Transcript (language: {transcript.language}):\n" + "\n".join(lines) + "\n\n"
        f"{_INSTRUCTIONS.format(max_quotes=MAX_QUOTES)}"
    )
    return JudgePrompt(
        turns=(ChatTurn(role="system", content=_SYSTEM), ChatTurn(role="user", content=user)),
        message_ids=tuple(m.id for m in transcript.messages),
    )


def reply_format(rubric: Rubric) -> ReplyFormat:
    """The JSON Schema of `JudgeAnswer` for `rubric`: every check id a required property,
    in rubric order, nothing else. Only keywords OpenAI's strict structured outputs
    accept."""
    ids = [check.id for _, check in rubric.checks()]
    quote: dict[str, object] = {
        "type": "object",
        "properties": {"message_id": {"type": "integer"}, "quote": {"type": "string"}},
        "required": ["message_id", "quote"],
        "additionalProperties": False,
    }
    verdict: dict[str, object] = {
        "type": "object",
        "properties": {
            "applicable": {"type": "boolean"},
            "quotes": {"type": "array", "items": quote, "maxItems": MAX_QUOTES},
            "passed": {"type": "boolean"},
        },
        "required": ["applicable", "quotes", "passed"],
        "additionalProperties": False,
    }
    checks: dict[str, object] = {
        "type": "object",
        "properties": dict.fromkeys(ids, verdict),
        "required": ids,
        "additionalProperties": False,
    }
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"checks": checks},
        "required": ["checks"],
        "additionalProperties": False,
    }
    return ReplyFormat(name="scorecard_checks", schema=schema)
