"""Ports for time (wall clock and durations), identity and credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from avataradam.domain.model import Role


class Clock(Protocol):
    """Current time, timezone-aware UTC, and a monotonic reading for durations."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float:
        """Seconds since an arbitrary fixed point; never goes back (for latencies,
        deadlines and expiry within one process, never for timestamps)."""
        ...


class IdGenerator(Protocol):
    """New unique ids."""

    def new_id(self) -> UUID: ...


class PasswordHasher(Protocol):
    """One-way password hashes; `verify` never raises on a wrong password."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    role: Role
    dealership_id: UUID | None
    expires_at: datetime
    session_version: int = 0
    """The user's `session_version` at issue; the token dies when the account's moves."""


class TokenService(Protocol):
    """Signs and verifies access tokens; `verify` raises InvalidToken."""

    access_ttl_s: int

    def issue(self, claims: AccessClaims) -> str: ...
    def verify(self, token: str) -> AccessClaims: ...
