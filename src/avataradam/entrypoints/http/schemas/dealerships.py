"""Bodies of dealership (tenant) management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.usecases.dealerships import MAX_DEALERSHIP_NAME_CHARS


class DealershipOut(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    active: bool
    knowledge_base_generation: int
    created_at: datetime
    updated_at: datetime
    monthly_token_budget: int | None = None
    """The dealership's own monthly token budget; null = the service default."""
    leaderboard_enabled: bool = False
    """Whether its members see the leaderboard (GET /v1/analytics/leaderboard)."""


Name = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_DEALERSHIP_NAME_CHARS, examples=["Riverside Motors"]),
]


class DealershipCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name


TokenBudget = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=2**62,
        description="Prompt plus completion tokens per calendar month (UTC); 0 = unlimited.",
        examples=[2_000_000],
    ),
]


class DealershipUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | None = None
    active: bool | None = None
    monthly_token_budget: TokenBudget | msgspec.UnsetType | None = msgspec.UNSET
    """The dealership's own monthly token budget; null returns it to the service default
    (`AVATARADAM_USAGE_MONTHLY_TOKEN_BUDGET`); absent leaves it unchanged."""
    leaderboard_enabled: bool | None = None
    """Opts the dealership in to the leaderboard (off by default); absent keeps it."""
