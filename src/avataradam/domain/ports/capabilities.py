"""Optional capabilities an adapter may have beyond its port, checked with `isinstance`.

A port says what every adapter does; these say what some do, so the composition root
can ask instead of guessing attribute names: an embedder with an input window and its
own tokenizer (the chunker sizes passages by them), a model to load before the first
call, a client to close at shutdown, a decorator (the `Metered*` wrappers) around the
adapter that has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from avataradam.domain.ports.knowledge import Embedder


@runtime_checkable
class InputWindow(Protocol):
    """Reads at most `max_input_tokens` tokens of one text; beyond that it truncates."""

    @property
    def max_input_tokens(self) -> int: ...


@runtime_checkable
class TokenCounting(Protocol):
    """Counts the tokens it reads of `text` (without special tokens), as it counts them."""

    def token_counter(self, text: str) -> int: ...


@runtime_checkable
class EmbedsQueries(Protocol):
    """Embeds search queries differently from passages (e5's `query: ` / `passage: `
    convention): `embed` is for passages, `embed_queries` for what is searched with.
    An embedder without it embeds both the same way (`embed`)."""

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]: ...


@runtime_checkable
class WarmsUp(Protocol):
    """Loads what its first call would otherwise wait for (blocking: run off the loop).

    Raises what loading raises (e.g. `EmbedderUnavailable`, `ChatModelUnavailable`).
    """

    def warm_up(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Holds a client or process to release at shutdown."""

    async def aclose(self) -> None: ...


@runtime_checkable
class Decorator(Protocol):
    """Wraps another adapter of the same port (`inner`), which may have capabilities
    of its own."""

    @property
    def inner(self) -> object: ...


def undecorated(adapter: object) -> object:
    """The innermost adapter under any `Decorator`s."""
    while isinstance(adapter, Decorator):
        adapter = adapter.inner
    return adapter


async def embed_queries(embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
    """`texts` embedded as queries: through `embed_queries` where `embedder` has it,
    else `embed`."""
    if isinstance(embedder, EmbedsQueries):
        return await embedder.embed_queries(texts)
    return await embedder.embed(texts)
