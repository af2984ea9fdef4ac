"""Chat completions from any OpenAI-compatible API (OpenAI, OpenRouter, vLLM, Ollama,
llama.cpp's server) through the official SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import openai

from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModelUnavailable,
    ChatTurn,
    ChatUsage,
    Grounding,
    ReplyFormat,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.completion_usage import CompletionUsage


def _usage(usage: CompletionUsage | None) -> ChatUsage | None:
    if usage is None:
        return None
    details = usage.prompt_tokens_details
    return ChatUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_prompt_tokens=(details.cached_tokens or 0) if details is not None else 0,
    )


def _cut_off() -> ChatModelUnavailable:
    return ChatModelUnavailable("the reply stream ended before the model finished")


class OpenAIChatModel:
    """Implements `ChatModel` with `AsyncOpenAI.chat.completions.create`.

    The SDK retries 408/409/429/5xx and connection errors `max_retries` times with
    exponential backoff (honouring Retry-After) before the first byte of a reply; what
    still fails, a refusal (4xx) included, and a stream broken midway, is
    `ChatModelUnavailable` with the status in its details. Streaming asks for usage in
    the final chunk (`stream_options.include_usage`); servers that do not send it leave
    usage unknown. A stream that ends without a `finish_reason` was cut off (a plain
    connection close looks like a complete body) and is refused rather than stored as a
    whole reply. `streaming=False` asks for the whole reply at once and yields it as
    one delta, for servers whose streaming is unreliable. A `reply_format` is sent as
    `response_format: {type: "json_schema", json_schema: {name, schema, strict: true}}`
    (OpenAI's structured outputs; llama.cpp's server turns the schema into a grammar).
    `temperature` overrides the configured one for that request. `extra_body` adds fields of a
    server's own to every request body (llama.cpp's `cache_prompt`); OpenAI itself
    refuses fields it does not know, so there is none by default.
    """

    generative = True

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        temperature: float = 0.4,
        streaming: bool = True,
        extra_body: Mapping[str, object] | None = None,
    ) -> None:
        self.name = model
        self._extra_body = dict(extra_body) if extra_body else None
        self._temperature = temperature
        self._streaming = streaming
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,  # noqa: ARG002 -- generative: the prompt says it all
        reply_format: ReplyFormat | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatDelta]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": turn.role, "content": turn.content}  # type: ignore[misc]
            for turn in turns
        ]
        request: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self._temperature if temperature is None else temperature,
        }
        if reply_format is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": reply_format.name,
                    "schema": reply_format.schema,
                    "strict": True,
                },
            }
        if self._extra_body is not None:
            request["extra_body"] = self._extra_body
        try:
            if not self._streaming:
                completion = await self._client.chat.completions.create(**request, stream=False)
                text = completion.choices[0].message.content if completion.choices else None
                yield ChatDelta(text=text or "", usage=_usage(completion.usage))
                return
            chunks = await self._client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
            finished = False
            async with chunks:
                async for chunk in chunks:
                    text = chunk.choices[0].delta.content if chunk.choices else None
                    finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
                    usage = _usage(chunk.usage)
                    if text or usage is not None:
                        yield ChatDelta(text=text or "", usage=usage)
            if not finished:
                raise _cut_off()
        except openai.APIStatusError as exc:
            raise ChatModelUnavailable(
                f"chat model answered {exc.status_code}", status=exc.status_code
            ) from exc
        except openai.APIError as exc:
            raise ChatModelUnavailable("chat model cannot be reached or broke off") from exc
