"""The checks shared by every VectorIndex adapter: the dense dimension (its error is the
domain's) and the shape of a sparse vector."""

from __future__ import annotations

import math
from itertools import pairwise

from avataradam.domain.errors import VectorDimensionMismatch
from avataradam.domain.ports.knowledge import SparseVector

__all__ = ["VectorDimensionMismatch", "check_dimension", "check_sparse"]


def check_dimension(values_length: int, expected: int, where: str = "the index") -> None:
    if values_length != expected:
        raise VectorDimensionMismatch(expected=expected, actual=values_length, where=where)


def check_sparse(vector: SparseVector) -> None:
    """ValueError unless `vector` is as `SparseVector` says (as many values as indices;
    indices non-negative and strictly ascending; values finite): the stored vectors are
    what PostgreSQL's `avataradam_sparse_dot` accepts, which refuses the others, so one
    malformed vector stored would fail every search of its namespace."""
    indices = vector.indices
    if len(indices) != len(vector.values):
        raise ValueError(
            f"sparse vector has {len(indices)} indices but {len(vector.values)} values"
        )
    if indices and indices[0] < 0:
        raise ValueError("sparse vector indices must be non-negative")
    if any(later <= earlier for earlier, later in pairwise(indices)):
        raise ValueError("sparse vector indices must strictly ascend")
    if not all(math.isfinite(value) for value in vector.values):
        raise ValueError("sparse vector values must be finite")
