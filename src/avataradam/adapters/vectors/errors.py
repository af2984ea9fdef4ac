"""The dimension check shared by every VectorIndex adapter; its error is the domain's."""

from __future__ import annotations

from avataradam.domain.errors import VectorDimensionMismatch

__all__ = ["VectorDimensionMismatch", "check_dimension"]


def check_dimension(values_length: int, expected: int, where: str = "the index") -> None:
    if values_length != expected:
        raise VectorDimensionMismatch(expected=expected, actual=values_length, where=where)
