"""Vector helpers shared by the embedders."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence


def unit_vector(values: Sequence[float]) -> list[float]:
    """`values` scaled to length 1; a zero vector has no direction and is refused."""
    norm = math.sqrt(math.fsum(value * value for value in values))
    if norm == 0.0 or not math.isfinite(norm):
        raise ValueError("cannot normalise a zero or non-finite vector")
    return [value / norm for value in values]


def batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]
