"""Errors shared by every VectorIndex adapter."""

from __future__ import annotations

from avataradam.domain.errors import DomainError


class VectorDimensionMismatch(DomainError):
    """A vector's length differs from the index's dimension.

    Permanent, not retryable: it means the configured embedder changed (or a caller
    built a wrong vector), and mixing dimensions would make every score meaningless.
    Re-embedding into a fresh index is the only way forward.
    """

    code = "vector_dimension_mismatch"

    def __init__(self, *, expected: int, actual: int, where: str) -> None:
        super().__init__(
            f"vector dimension {actual} does not match {where} dimension {expected}",
            expected=expected,
            actual=actual,
        )
        self.expected = expected
        self.actual = actual


def check_dimension(values_length: int, expected: int, where: str = "the index") -> None:
    if values_length != expected:
        raise VectorDimensionMismatch(expected=expected, actual=values_length, where=where)
