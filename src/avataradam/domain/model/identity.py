"""Dealerships, users and what authenticates them."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec


class Role(enum.StrEnum):
    SUPER_ADMIN = "super_admin"
    DEALERSHIP_ADMIN = "dealership_admin"
    USER = "user"


class Dealership(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    active: bool
    knowledge_base_generation: int
    created_at: datetime
    updated_at: datetime
    monthly_token_budget: int | None = None
    """A super admin's override of the service's monthly token budget (prompt plus
    completion tokens per calendar month, UTC): None = the service default, 0 = unlimited."""
    leaderboard_enabled: bool = False
    """Whether its members see the leaderboard (GET /v1/analytics/leaderboard); opt-in."""
    vector_generation: int = 0
    """The vector generation its search reads (`domain.vectors`); moved only by a switch."""
    vector_profile: str | None = None
    """The profile that made that generation's vectors; None: none recorded yet."""


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    password_hash: str
    role: Role
    dealership_id: UUID | None
    first_name: str | None
    last_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    session_version: int = 0
    """Moves (only by `UserRepository.end_sessions`) whenever the account's sessions must
    end; every token carries the version it was issued under and dies when it differs."""


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """What every authenticated request is checked against: the account as it is now.

    `active` is the user's own flag and `dealership_active` their dealership's (True
    for a super admin, who belongs to none).
    """

    user_id: UUID
    role: Role
    dealership_id: UUID | None
    active: bool
    dealership_active: bool
    session_version: int


class RefreshToken(msgspec.Struct, frozen=True, kw_only=True):
    """A stored refresh token; only its hash is kept.

    Tokens of one login form a family. Rotation marks the presented token as
    rotated; presenting a rotated token again is reuse and revokes the family.
    """

    token_hash: str
    family_id: UUID
    user_id: UUID
    expires_at: datetime
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    session_version: int = 0
    """The user's `session_version` when the token was issued."""
