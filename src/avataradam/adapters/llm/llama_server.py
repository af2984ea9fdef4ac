"""A local GGUF chat model: llama.cpp's own server, run inside this process by xllamacpp.

xllamacpp (MIT) ships llama.cpp prebuilt (manylinux wheels, nothing to compile) and
starts its C++ server, with an OpenAI-compatible HTTP API, on a thread of the calling
process. The model is loaded on first use or by `warm_up`, so the API starts without
xllamacpp or the model when another chat model is configured.

Replies go through `OpenAIChatModel` over the server's loopback port rather than through
xllamacpp's in-process callback API: streaming, usage, error mapping and the detection
of a cut-off stream are then the same tested code as for any OpenAI-compatible server,
and a reader that stops early closes the HTTP stream, which llama.cpp sees and stops
generating (the callback API cannot cancel before the next token arrives). The port is
chosen by the OS, bound to 127.0.0.1, and answers only this process's random key.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from avataradam.adapters.llm.openai import OpenAIChatModel
from avataradam.domain.ports.services import (
    ChatDelta,
    ChatModelUnavailable,
    ChatTurn,
    Grounding,
    ReplyFormat,
)

_HASH_BLOCK_BYTES = 8 * 1024 * 1024


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 8 MiB blocks (a 1 GiB model takes seconds)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


class LlamaServerChatModel:
    """Implements `ChatModel` with a GGUF model served by an in-process llama.cpp server.

    `sha256`, when given, is checked against the file before it is loaded (a mismatch
    is `ChatModelUnavailable`, nothing is loaded). `context_tokens` is the KV cache shared
    by `parallel` slots (continuous batching: concurrent replies share the CPU instead of
    queueing); `threads` defaults to llama.cpp's choice (the physical cores). Every
    request asks llama.cpp to keep its prompt in the slot's KV cache (`cache_prompt`),
    and the server gives a request the slot whose cached prompt shares most of its start,
    so a next prompt that starts with the same system text skips re-reading it (the
    reply's usage counts the reused tokens). `timeout_s` bounds each wait for the next
    chunk of a reply, including the wait for a free slot. `cache_ram_mib` caps the RAM of
    llama.cpp's prompt cache, where idle slots' prompts are kept for reuse (llama.cpp's
    `--cache-ram`; 0 switches it off; llama.cpp's own default is 8 GiB). Building one sets
    OMP_WAIT_POLICY to PASSIVE for the process unless it is set (see
    `_prefer_passive_openmp`).
    """

    generative = True

    def __init__(
        self,
        *,
        model_path: str | Path,
        sha256: str | None = None,
        context_tokens: int = 4096,
        parallel: int = 2,
        threads: int | None = None,
        temperature: float = 0.4,
        timeout_s: float = 120.0,
        seed: int = 0,
        cache_ram_mib: int = 1024,
    ) -> None:
        if cache_ram_mib < 0:
            raise ValueError("cache_ram_mib must be >= 0 (0 switches the prompt cache off)")
        self._path = Path(model_path)
        self.name = self._path.stem
        self._sha256 = sha256.lower() if sha256 else None
        self._context_tokens = context_tokens
        self._parallel = parallel
        self._threads = threads
        self._temperature = temperature
        self._timeout_s = timeout_s
        self._seed = seed
        self._cache_ram_mib = cache_ram_mib
        self._key = secrets.token_urlsafe(32)
        self._server: Any = None
        self._client: OpenAIChatModel | None = None
        self._start_lock = threading.Lock()
        _prefer_passive_openmp()

    def warm_up(self) -> None:
        """Loads the model now (blocking: seconds) instead of during the first reply."""
        self._base_url()

    async def stream(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_tokens: int,
        grounding: Grounding | None = None,
        reply_format: ReplyFormat | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatDelta]:
        if self._client is None:
            base_url = await asyncio.to_thread(self._base_url)
            if self._client is None:  # no await since the check above: one client
                self._client = OpenAIChatModel(
                    base_url=base_url,
                    api_key=self._key,
                    model=self.name,
                    timeout_s=self._timeout_s,
                    max_retries=1,
                    temperature=self._temperature,
                    # Explicit, not the server's default: the slot keeps the prompt it
                    # read, and a next prompt with the same system text reads only what
                    # follows it (the passages and the question).
                    extra_body={"cache_prompt": True},
                )
        client = self._client
        async for delta in client.stream(
            turns,
            max_tokens=max_tokens,
            grounding=grounding,
            reply_format=reply_format,
            temperature=temperature,
        ):
            yield delta

    async def busy_slots(self) -> int:
        """How many replies llama.cpp is generating now (0 before the model is loaded);
        from the server's `/slots` endpoint."""
        server = self._server
        if server is None:
            return 0
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            response = await client.get(
                f"{server.listening_address}/slots",
                headers={"Authorization": f"Bearer {self._key}"},
            )
        response.raise_for_status()
        return sum(1 for slot in response.json() if slot.get("is_processing"))

    async def aclose(self) -> None:
        """Closes the HTTP client, then stops the server and frees the model."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        # The last reference is dropped on a worker thread: llama.cpp's destructor joins
        # its own threads, which must not block the event loop.
        held, self._server = [self._server], None
        await asyncio.to_thread(held.clear)

    def _base_url(self) -> str:
        with self._start_lock:
            if self._server is None:
                self._server = self._start()
            return f"{self._server.listening_address}/v1"

    def _start(self) -> Any:
        if not self._path.is_file():
            raise ChatModelUnavailable(f"no GGUF model at {self._path}")
        if self._sha256 is not None and file_sha256(self._path) != self._sha256:
            raise ChatModelUnavailable(f"{self._path.name} does not have the configured SHA-256")
        xllamacpp = _import_xllamacpp()
        try:
            return xllamacpp.Server(self.server_params())
        except (RuntimeError, ValueError) as exc:
            raise ChatModelUnavailable(f"llama.cpp cannot load {self._path.name}") from exc

    def server_params(self) -> Any:
        """The `xllamacpp.CommonParams` the server is started with (nothing is loaded).

        Raises `ChatModelUnavailable` when xllamacpp is not installed.
        """
        params = _import_xllamacpp().CommonParams()
        params.model.path = str(self._path)
        params.model_alias = {self.name}
        params.n_ctx = self._context_tokens
        params.n_parallel = self._parallel
        params.kv_unified = True
        params.api_keys = [self._key]
        params.ui = False
        params.verbosity = 0
        params.sampling.seed = self._seed
        params.cache_ram_mib = self._cache_ram_mib
        if self._threads is not None:
            params.cpuparams.n_threads = self._threads
            params.cpuparams_batch.n_threads = self._threads
        return params


def _prefer_passive_openmp() -> None:
    """Makes OpenMP threads sleep, not spin, while they wait at a barrier.

    llama.cpp's CPU threads meet at OpenMP barriers, where libgomp spins by default: on
    a 2-core host shared with the API, the worker and the embedder, spinning threads
    starve each other (SmolLM2 at load average 10: 0.3-1.9 tokens/s spinning, 12-35
    passive). libgomp reads the variable once, when the first library needing it loads
    (torch's copy, loaded by the local embedder's warm-up, has the same soname), so this
    runs when the composition root builds the model, before that. An operator's own
    OMP_WAIT_POLICY wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _import_xllamacpp() -> Any:
    try:
        # Imported by name: optional (requirements/llm-runtime.txt) and untyped.
        return importlib.import_module("xllamacpp")
    except ImportError as exc:
        raise ChatModelUnavailable(
            "chat_model=local needs xllamacpp (just setup-llm, or "
            "uv pip install --require-hashes --no-deps -r requirements/llm-runtime.txt)"
        ) from exc
