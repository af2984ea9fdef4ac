"""The answer cache: a training question asked with no prior history is answered by the
chat model once per knowledge-base generation, then served from the shared cache.

Exact by construction: the key names everything the stored reply depends on — the
dealership, its knowledge-base generation (bumped when a document becomes ready or is
deleted, as for the retrieval cache, so a changed knowledge base never serves an old
answer), the chat model, `PROMPT_VERSION`, the options that shape the prompt and its
check (retrieval depth, relevance floor, reply length, support threshold), the session
focus and the normalised question. Questions in a conversation with history are never
cached: the history is part of their prompt.

Single flight across instances: the first request to miss takes a lock and asks the
model; the others wait for its answer as long as the lock is held (a generation takes
seconds), then serve it. A holder that fails releases the lock at once; one that died
loses it when it expires, and a waiter then asks the model itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from uuid import UUID

import msgspec

from avataradam.domain.model import Source
from avataradam.domain.ports.services import Cache, Telemetry
from avataradam.domain.usecases.singleflight import single_flight

PROMPT_VERSION = "2026-11-30.1"
"""Bumped whenever a prompt template or the citation check changes what a reply says."""


class CachedAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A checked training reply as stored in the answer cache."""

    content: str
    sources: tuple[Source, ...]
    grounded: bool | None
    supported_share: float | None


class AnswerCacheOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Built from Settings (entrypoints/options.py), which hold the defaults."""

    enabled: bool
    ttl_s: int
    lock_ttl_s: float
    """How long a generating request holds the key: longer than a slow reply takes."""
    wait_for_peer_s: float
    poll_interval_s: float


def answer_key(
    *,
    dealership_id: UUID,
    generation: int,
    model: str,
    shape: str,
    focus: str | None,
    normalised: str,
) -> str:
    """`shape` names the options that shape the prompt and its check (see module)."""
    digest = hashlib.sha256(f"{shape}\x1f{focus or ''}\x1f{normalised}".encode()).hexdigest()
    return f"avataradam:ans:{dealership_id}:{generation}:{model}:{PROMPT_VERSION}:{digest[:40]}"


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(CachedAnswer)


class AnswerCache:
    """`answer(key, generate)`: the cached answer, or `generate()`'s, computed once."""

    def __init__(self, cache: Cache, telemetry: Telemetry, options: AnswerCacheOptions) -> None:
        self._cache, self._telemetry = cache, telemetry
        self._options = options

    @property
    def enabled(self) -> bool:
        return self._options.enabled

    async def answer(
        self, key: str, generate: Callable[[], Awaitable[CachedAnswer]]
    ) -> tuple[CachedAnswer, str]:
        """(answer, outcome): `hit` served from the cache (no model call), `miss` asked
        the model and shared the answer, `bypass` asked the model without the cache
        (disabled or unreachable)."""
        if not self._options.enabled:
            return await generate(), "bypass"
        options = self._options
        answer, outcome = await single_flight(
            self._cache,
            key,
            generate,
            encode=_encoder.encode,
            decode=_decoder.decode,
            ttl_s=options.ttl_s,
            lock_ttl_s=options.lock_ttl_s,
            wait_for_peer_s=options.wait_for_peer_s,
            poll_interval_s=options.poll_interval_s,
        )
        self._telemetry.cache_result("answer", outcome)
        return answer, outcome
