"""Persistence ports of identity: dealerships, users, refresh tokens, account states."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    AccountState,
    Dealership,
    RefreshToken,
    User,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.vectors import ActiveVectors, KnowledgeBaseState


class DealershipRepository(Protocol):
    """Dealerships; `bump_generation` is atomic and returns the new generation."""

    async def add(self, dealership: Dealership) -> None: ...
    async def get(self, dealership_id: UUID) -> Dealership | None: ...
    async def update(self, dealership: Dealership) -> None: ...
    async def list_page(self, *, cursor: Cursor | None, limit: int) -> list[Dealership]: ...
    async def bump_generation(self, dealership_id: UUID) -> int: ...
    async def vectors_for_update(self, dealership_id: UUID) -> ActiveVectors | None:
        """The dealership's active vectors, its row locked until the unit of work ends
        (what a document becoming ready and a generation switch serialise on)."""
        ...

    async def record_vector_profile(self, dealership_id: UUID, profile: str) -> None:
        """Records the profile of the active generation where none is recorded yet."""
        ...

    async def vector_profiles(self) -> list[str]:
        """The profiles dealerships' searches read (recorded ones), sorted."""
        ...

    async def switch_vectors(self, dealership_id: UUID, vectors: ActiveVectors) -> int:
        """Makes `vectors` active and bumps the knowledge-base generation (answered)."""
        ...


class UserRepository(Protocol):
    """Users; emails are unique case-insensitively (`add`, `update` raise EmailTaken).

    `update` writes everything but `session_version`, which only `end_sessions` moves
    (atomically, so a concurrent update never moves it back).
    """

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def update(self, user: User) -> None: ...
    async def end_sessions(
        self, *, user_id: UUID | None = None, dealership_id: UUID | None = None
    ) -> list[UUID]:
        """Increments the `session_version` of one user, or of every user of one
        dealership (exactly one of the two is given), and revokes nothing else; returns
        the ids of the users whose version moved."""
        ...

    async def list_page(
        self, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[User]: ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by hash. `mark_rotated` succeeds once per token (compare-and-set)."""

    async def add(self, token: RefreshToken) -> None: ...
    async def get(self, token_hash: str) -> RefreshToken | None: ...
    async def mark_rotated(self, token_hash: str, at: datetime) -> bool: ...
    async def revoke(self, token_hash: str, at: datetime) -> None: ...
    async def revoke_family(self, family_id: UUID, at: datetime) -> None: ...
    async def revoke_users(self, user_ids: Sequence[UUID], at: datetime) -> int:
        """Revokes every not yet revoked token of these users; returns how many."""
        ...


class AccountStates(Protocol):
    """The current state of accounts, read on every authenticated request.

    `get` answers the committed state (never a lagging replica's), None for an unknown
    user. `changed` is called after a change of a user's (or of every user of a
    dealership's) state has committed: a caching implementation drops what it holds,
    in every process that holds it, before it returns (or as soon as it can reach them).
    """

    async def get(self, user_id: UUID) -> AccountState | None: ...
    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None: ...


class GenerationReader(Protocol):
    """The committed knowledge-base generation of a dealership and its active vectors,
    from the source of truth (never a lagging replica), in one cheap read: cache keys
    and the query's embedder depend on them. None for an unknown dealership."""

    async def state(self, dealership_id: UUID) -> KnowledgeBaseState | None: ...
