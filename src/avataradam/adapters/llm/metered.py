"""Measures any `ChatModel`: call duration and errors, and the tokens it reports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager

from avataradam.domain.ports.services import ChatDelta, ChatModel, ChatTurn, Grounding

CallTimer = Callable[[str], AbstractContextManager[None]]
TokenRecorder = Callable[[str, int, int], None]


class MeteredChatModel:
    """Implements `ChatModel` around another one.

    `time_call(operation)` wraps a whole reply (a reader that stops early counts as an
    error: the model was cut off); `record_tokens(model, prompt, completion)` gets the
    usage the model reports. The composition root binds both to its metrics, so this
    adapter needs no metrics library.
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
        self, turns: Sequence[ChatTurn], *, max_tokens: int, grounding: Grounding | None = None
    ) -> AsyncIterator[ChatDelta]:
        with self._time_call("stream"):
            async for delta in self.inner.stream(turns, max_tokens=max_tokens, grounding=grounding):
                if delta.usage is not None:
                    self._record_tokens(
                        self.name, delta.usage.prompt_tokens, delta.usage.completion_tokens
                    )
                yield delta
