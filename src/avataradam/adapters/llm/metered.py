"""Measures any `ChatModel`: call duration and errors, the tokens it reports, and a
trace span per reply whose attributes follow OpenTelemetry's GenAI conventions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager

from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModel,
    ChatTurn,
    Grounding,
    ReplyFormat,
)

Annotate = Callable[[str, str | int | float | bool], None]
CallTimer = Callable[[str, dict[str, str | int | float | bool]], AbstractContextManager[Annotate]]
TokenRecorder = Callable[[str, int, int], None]


class MeteredChatModel:
    """Implements `ChatModel` around another one.

    `time_call(operation, attributes)` wraps a whole reply (a reader that stops early
    counts as an error: the model was cut off) and yields a setter of attributes of its
    span: `gen_ai.request.model`, `gen_ai.request.max_tokens` and, when the model
    reports usage, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` and
    `gen_ai.usage.cache_read.input_tokens` (of the input, those the server's prompt
    cache held: the KV cache of Adam's fixed system prompt; 0 when it does not say).
    `record_tokens(model, prompt, completion)` gets the usage the model reports. The
    composition root binds both to its metrics and tracer, so this adapter needs no
    metrics or tracing library.
    """

    def __init__(
        self, inner: ChatModel, *, time_call: CallTimer, record_tokens: TokenRecorder
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.generative = inner.generative
        self._time_call = time_call
        self._record_tokens = record_tokens

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,
        reply_format: ReplyFormat | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatDelta]:
        attributes: dict[str, str | int | float | bool] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": self.name,
            "gen_ai.request.max_tokens": max_tokens,
        }
        with self._time_call("stream", attributes) as annotate:
            async for delta in self.inner.stream(
                turns,
                max_tokens=max_tokens,
                grounding=grounding,
                reply_format=reply_format,
                temperature=temperature,
            ):
                if delta.usage is not None:
                    self._record_tokens(
                        self.name, delta.usage.prompt_tokens, delta.usage.completion_tokens
                    )
                    annotate("gen_ai.usage.input_tokens", delta.usage.prompt_tokens)
                    annotate("gen_ai.usage.output_tokens", delta.usage.completion_tokens)
                    annotate(
                        "gen_ai.usage.cache_read.input_tokens", delta.usage.cached_prompt_tokens
                    )
                yield delta
