"""Ports for shared infrastructure: cache, queue, rate limits, chat model, webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import msgspec

from avataradam.domain import codes
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import Stage


class CacheUnavailable(DependencyUnavailable):
    code = codes.CACHE_UNAVAILABLE


class ChatModelUnavailable(DependencyUnavailable):
    code = codes.CHAT_MODEL_UNAVAILABLE


class Cache(Protocol):
    """Shared byte cache with expiry; raises CacheUnavailable when unreachable."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float) -> bool: ...
    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        """Deletes `key` only while it still holds `value` (releasing one's own lock)."""
        ...


class TaskQueue(Protocol):
    """Hands work to the background workers; at-least-once delivery."""

    async def enqueue(
        self, task: str, payload: Mapping[str, str], *, delay_ms: int = 0
    ) -> None: ...


class RatePolicy(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    limit: int
    window_s: int
    fail_open: bool


class RateDecision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    policy: RatePolicy
    remaining: int
    reset_after_s: float
    retry_after_s: float


class RateLimiter(Protocol):
    """Atomic check-and-consume of one request against policies for keys."""

    async def hit(self, policy: RatePolicy, key: str) -> RateDecision: ...

    async def hit_all(self, hits: Sequence[tuple[RatePolicy, str]]) -> list[RateDecision]:
        """One request against several (policy, key) pairs, all or nothing, atomically.

        The request is admitted iff every policy has room, and then consumes one from
        each; a refused request consumes from none. One decision per pair, in order:
        `allowed` tells whether that policy had room, so the request was admitted iff
        every decision is allowed.
        """
        ...

    async def refund(self, hits: Sequence[tuple[RatePolicy, str]]) -> None:
        """Takes back the newest admission of each (policy, key): a request that turned
        out not to count (a sign-in whose password was right). Never raises: when the
        store is unreachable the admission simply stays counted."""
        ...


class ChatTurn(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    content: str


class ChatUsage(msgspec.Struct, frozen=True, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    """Of `prompt_tokens`, those the server found in its prompt cache and did not read
    again (0 when it does not say)."""


class ChatDelta(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    usage: ChatUsage | None = None


class GroundingPassage(msgspec.Struct, frozen=True, kw_only=True):
    """A retrieved passage shown to the model; replies cite it as `[marker]`.

    `sentences` are its text's sentences once the service has segmented it (None
    before): the model, the compliance guard and the citation check then share them
    instead of each segmenting the text again.
    """

    marker: int
    text: str
    topic: str
    filename: str
    sentences: tuple[str, ...] | None = None


class Grounding(msgspec.Struct, frozen=True, kw_only=True):
    """What a prompt was built from, in structured form.

    Generative models read the prompt text and may ignore this; a non-generative
    model (extractive) answers from it alone.
    """

    mode: str
    """training | roleplay"""
    question: str
    passages: tuple[GroundingPassage, ...] = ()
    persona: str | None = None
    scripted_lines: tuple[str, ...] = ()
    """Built-in lines of the roleplay persona, for models that cannot write their own."""
    language: str = "en"
    """Roleplay: the language the customer speaks (a `Language` value); its
    `scripted_lines` are in it."""


class ReplyFormat(msgspec.Struct, frozen=True, kw_only=True):
    """Asks a generative model for a reply that is one JSON value matching `schema` (a
    JSON Schema object; OpenAI's structured outputs, llama.cpp's grammar-constrained
    sampling). A server may ignore it: callers still parse and validate the reply."""

    name: str
    """`^[a-zA-Z0-9_-]{1,64}$`, what OpenAI's `json_schema.name` accepts."""
    schema: dict[str, object]


class ChatModel(Protocol):
    """Streams a reply to a prompt as text deltas; the last delta may carry usage.

    Raises ChatModelUnavailable when the model cannot answer (unreachable, overloaded,
    refused). `generative` is False for a model that assembles replies from the
    grounding instead of writing them (see `Grounding`); such a model ignores
    `reply_format` and `temperature`. `reply_format` asks for JSON matching a schema;
    `temperature` overrides the model's configured one for this reply (0: greedy).
    """

    name: str
    generative: bool

    def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,
        reply_format: ReplyFormat | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatDelta]: ...


class WebhookResult(msgspec.Struct, frozen=True, kw_only=True):
    delivered: bool
    status_code: int | None
    error: str | None


class WebhookSender(Protocol):
    """POSTs one signed event; never raises for a receiver's failure (see result).

    The `webhook-signature` header carries one `v1,<signature>` per secret, space
    separated: `secret` first, then `previous_secrets` (a rotation's grace period).
    """

    async def send(
        self,
        *,
        url: str,
        secret: str,
        message_id: str,
        payload: bytes,
        previous_secrets: Sequence[str] = (),
    ) -> WebhookResult: ...


class Telemetry(Protocol):
    """Where use cases report what operators watch: events (logs) and counters."""

    def event(self, name: str, **fields: object) -> None: ...
    def cache_result(self, cache: str, result: str) -> None: ...
    def rate_limit(self, policy: str, decision: str) -> None: ...
    def budget_refused(self) -> None:
        """A reply was refused: its dealership's monthly token budget is exhausted."""
        ...

    def budget_alert(self, threshold: int) -> None:
        """A dealership's monthly budget reached `threshold` percent (once a month)."""
        ...

    def span(self, name: str) -> AbstractContextManager[object]:
        """A unit of work shown in traces, nested under the current one."""
        ...

    def ingestion_stage_time(self, stage: Stage, seconds: float) -> None:
        """Records the time one document's ingestion spent in a stage (seconds, summed
        over its batches, a run that failed included): operators see which stage
        ingestion spends its time in."""
        ...

    def reembedded(self, profile: str, *, documents: int, chunks: int) -> None:
        """A re-embedding into `profile` wrote these documents and passages."""
        ...

    def scoring(self, outcome: str, seconds: float | None) -> None:
        """A session's scoring ended: `outcome` `scored` (`seconds`: from taking the
        lease to storing the scorecard) or `failed` (retries ran out; no duration)."""
        ...

    def speech_first_audio(self, engine: str, seconds: float) -> None:
        """Speech was asked for and its first sentence's audio is ready after `seconds`."""
        ...

    def speech_audio(self, engine: str, direction: str, seconds: float) -> None:
        """`seconds` of audio were `synthesized` or `transcribed` by `engine`."""
        ...

    def speech_failed(self, operation: str, code: str) -> None:
        """A speech request (`synthesize`, `transcribe`, `avatar_session`) failed with
        the problem `code`."""
        ...


class BudgetHold(msgspec.Struct, frozen=True, kw_only=True):
    """A `BudgetLedger.reserve` decision and the counter's state after it (tokens)."""

    allowed: bool
    used: int
    """Tokens settled in the period."""
    reserved: int
    """Tokens held by calls in flight, this one included when allowed."""


class BudgetLedger(Protocol):
    """Token counters (one per dealership and period) shared by every instance, each
    operation atomic: holds are decided exactly however many instances reserve at once.

    Raises `DependencyUnavailable` when the counters cannot be reached.
    """

    async def reserve(
        self, key: str, amount: int, budget: int, *, seed: int | None, ttl_s: int
    ) -> BudgetHold | None:
        """Holds `amount` tokens iff `used + reserved + amount <= budget`; a refused
        hold changes nothing. A missing counter answers None when `seed` is None; with a
        seed it is first created as `used = seed` (unless another call created it
        meanwhile), to expire after `ttl_s` seconds."""
        ...

    async def settle(self, key: str, *, reserved: int, spent: int) -> int | None:
        """Releases a hold of `reserved` tokens and adds `spent` (negative to take back
        tokens); the period's new `used`, None when the counter no longer exists."""
        ...
