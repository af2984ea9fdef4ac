"""Deterministic feature-hashing embeddings: no model, no network (tests, demo profile)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from itertools import pairwise

from avataradam.adapters.embeddings.vectors import unit_vector

_WORD = re.compile(r"\w+")
_BIGRAM_WEIGHT = 0.5
_EMPTY_FEATURE = "\x00empty"


class HashingEmbedder:
    """Implements `Embedder` by hashing normalised words and word bigrams into buckets.

    Texts sharing words get similar vectors, which is enough for retrieval tests to rank
    an obviously relevant chunk first; it is not a semantic model. Equal texts up to case
    and Unicode normalisation map to the same vector, in every process (no `hash()` seed).
    """

    def __init__(self, dimension: int = 384) -> None:
        if dimension < 2:
            raise ValueError("dimension must be at least 2")
        self.dimension = dimension
        self.model_name = f"feature-hashing-{dimension}"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        features = [(word, 1.0) for word in words]
        features += [(f"{first} {second}", _BIGRAM_WEIGHT) for first, second in pairwise(words)]
        values = [0.0] * self.dimension
        for feature, weight in features or [(_EMPTY_FEATURE, 1.0)]:
            bucket, sign = self._bucket(feature)
            values[bucket] += sign * weight
        if not any(values):
            # Features that cancel out exactly: fall back to the first one's bucket.
            bucket, _ = self._bucket(features[0][0])
            values[bucket] = 1.0
        return unit_vector(values)

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "little")
        return number % self.dimension, 1.0 if number >> 63 else -1.0
