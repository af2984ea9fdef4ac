"""A version of a dealership's own rubric, as stored (migration 0019).

Versions are immutable: publishing a change adds the next version, and nothing ever
rewrites one, so a scorecard naming `(rubric_id, version)` is re-read, and re-scored,
against exactly the rubric it was scored with. Built-in rubrics live in code
(`domain/training/builtin.py`) and have no rows.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.training.authoring import RubricDraft
from avataradam.domain.training.rubrics import Rubric


class RubricBody(msgspec.Struct, frozen=True, kw_only=True):
    """`draft`: what the admin wrote (references unresolved), answered back so it can be
    edited into the next version; `rubric`: what it composed to when published, the
    one scoring reads (a referenced built-in check copied whole)."""

    draft: RubricDraft
    rubric: Rubric


class StoredRubric(msgspec.Struct, frozen=True, kw_only=True):
    dealership_id: UUID
    rubric_id: str
    version: int
    body: RubricBody
    created_at: datetime
    created_by: UUID
    """The user id of the admin who published it (kept when that account is deleted)."""


class RubricVersions(msgspec.Struct, frozen=True, kw_only=True):
    """An own rubric's latest version and every version number, ascending."""

    latest: StoredRubric
    versions: tuple[int, ...]
