"""Optional capabilities an adapter may have beyond its port, checked with `isinstance`.

A port says what every adapter does; these say what some do, so the composition root
can ask instead of guessing attribute names: an embedder with an input window and its
own tokenizer (the chunker sizes passages by them), a model to load before the first
call, a client to close at shutdown, a decorator (the `Metered*` wrappers) around the
adapter that has them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from uuid import UUID

    from avataradam.domain.model import Topic
    from avataradam.domain.ports.knowledge import Embedder, SparseVector, VectorMatch


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
class EmbedsSparse(Protocol):
    """Also maps texts to sparse vectors (multilingual-e5-small's "latent terms" head),
    searched beside the dense ones and fused by rank (`domain.fusion`). One recipe for
    passages and queries; compared by dot product."""

    async def embed_sparse(self, texts: Sequence[str]) -> list[SparseVector]: ...


@runtime_checkable
class SparseSearch(Protocol):
    """A `VectorIndex` that keeps the records' sparse vectors and searches them.

    `query_sparse` answers the `top_k` records of the namespace with the highest dot
    product with `vector` (only those above 0; records stored without a sparse vector
    never match), best first, ties by id; `topics` and `exclude_documents` filter inside
    the search as in `VectorIndex.query`. A match's `score` is the dot product.
    """

    async def query_sparse(
        self,
        namespace: str,
        vector: SparseVector,
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]: ...


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


async def embed_sparse(embedder: Embedder, texts: Sequence[str]) -> list[SparseVector] | None:
    """`texts`' sparse vectors from the adapter under `embedder`'s decorators when it
    makes them (`EmbedsSparse`), else None."""
    inner = undecorated(embedder)
    if isinstance(inner, EmbedsSparse):
        return await inner.embed_sparse(texts)
    return None
