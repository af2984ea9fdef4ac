"""Dealerships, users and refresh tokens in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.errors import translate, translated_errors
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    from_row,
    insert,
    page_after,
    page_params,
    params,
    select,
    update,
)
from avataradam.domain.errors import NotFound
from avataradam.domain.model import AccountState, Dealership, RefreshToken, User
from avataradam.domain.pagination import Cursor
from avataradam.domain.vectors import ActiveVectors, KnowledgeBaseState

_DEALERSHIP = columns(
    "id, name, active, knowledge_base_generation, created_at, updated_at, monthly_token_budget,"
    " leaderboard_enabled"
)
_SELECT_DEALERSHIP = select("dealerships", (*_DEALERSHIP, "vector_generation", "vector_profile"))
_INSERT_DEALERSHIP = insert("dealerships", _DEALERSHIP)
_MUTABLE_DEALERSHIP = columns(
    "id, name, active, updated_at, monthly_token_budget, leaderboard_enabled"
)
_UPDATE_DEALERSHIP = update("dealerships", _MUTABLE_DEALERSHIP)

_NEW_USER = columns(
    "id, email, password_hash, role, dealership_id, first_name, last_name, active,"
    " created_at, updated_at"
)
"""A new user's columns: `session_version` starts at the column's default."""
_SELECT_USER = select("users", (*_NEW_USER, "session_version"))
_INSERT_USER = insert("users", _NEW_USER)
_MUTABLE_USER = columns(
    "id, email, password_hash, role, dealership_id, first_name, last_name, active, updated_at"
)
_UPDATE_USER = update("users", _MUTABLE_USER)

_REFRESH_TOKEN = columns(
    "token_hash, family_id, user_id, expires_at, created_at, rotated_at, revoked_at,"
    " session_version"
)
_SELECT_REFRESH_ROW = select("refresh_tokens", _REFRESH_TOKEN)
_INSERT_REFRESH_TOKEN = insert("refresh_tokens", _REFRESH_TOKEN)


class PostgresDealershipRepository(ConnectionRepository):
    @translate
    async def add(self, dealership: Dealership) -> None:
        await self._conn.execute(_INSERT_DEALERSHIP, *params(dealership, _DEALERSHIP))

    @translate
    async def get(self, dealership_id: UUID) -> Dealership | None:
        return await self._one(Dealership, f"{_SELECT_DEALERSHIP} WHERE id = $1", dealership_id)

    @translate
    async def update(self, dealership: Dealership) -> None:
        """Writes name, active, monthly_token_budget, leaderboard_enabled and
        updated_at; the generation moves only by bumping."""
        await self._update_one(
            f"{_UPDATE_DEALERSHIP} WHERE id = $1",
            params(dealership, _MUTABLE_DEALERSHIP),
            "dealership",
        )

    @translate
    async def list_page(self, *, cursor: Cursor | None, limit: int) -> list[Dealership]:
        return await self._all(
            Dealership,
            f"{_SELECT_DEALERSHIP} WHERE {page_after(1, cursor)}",
            *page_params(cursor, limit),
        )

    @translate
    async def bump_generation(self, dealership_id: UUID) -> int:
        generation: int | None = await self._conn.fetchval(
            "UPDATE dealerships SET knowledge_base_generation = knowledge_base_generation + 1"
            " WHERE id = $1 RETURNING knowledge_base_generation",
            dealership_id,
        )
        if generation is None:
            raise NotFound("dealership not found")
        return generation

    @translate
    async def vectors_for_update(self, dealership_id: UUID) -> ActiveVectors | None:
        row = await self._conn.fetchrow(
            "SELECT vector_generation, vector_profile FROM dealerships WHERE id = $1 FOR UPDATE",
            dealership_id,
        )
        return None if row is None else ActiveVectors(generation=row[0], profile=row[1])

    @translate
    async def record_vector_profile(self, dealership_id: UUID, profile: str) -> None:
        await self._conn.execute(
            "UPDATE dealerships SET vector_profile = $2 WHERE id = $1 AND vector_profile IS NULL",
            dealership_id,
            profile,
        )

    @translate
    async def vector_profiles(self) -> list[str]:
        rows = await self._conn.fetch(
            "SELECT DISTINCT vector_profile FROM dealerships WHERE vector_profile IS NOT NULL"
            " ORDER BY 1"
        )
        return [row[0] for row in rows]

    @translate
    async def switch_vectors(self, dealership_id: UUID, vectors: ActiveVectors) -> int:
        generation: int | None = await self._conn.fetchval(
            "UPDATE dealerships SET vector_generation = $2, vector_profile = $3,"
            " knowledge_base_generation = knowledge_base_generation + 1"
            " WHERE id = $1 RETURNING knowledge_base_generation",
            dealership_id,
            vectors.generation,
            vectors.profile,
        )
        if generation is None:
            raise NotFound("dealership not found")
        return generation


class PostgresUserRepository(ConnectionRepository):
    @translate
    async def add(self, user: User) -> None:
        await self._conn.execute(_INSERT_USER, *params(user, _NEW_USER))

    @translate
    async def get(self, user_id: UUID) -> User | None:
        return await self._one(User, f"{_SELECT_USER} WHERE id = $1", user_id)

    @translate
    async def get_by_email(self, email: str) -> User | None:
        return await self._one(User, f"{_SELECT_USER} WHERE lower(email) = lower($1)", email)

    @translate
    async def update(self, user: User) -> None:
        await self._update_one(f"{_UPDATE_USER} WHERE id = $1", params(user, _MUTABLE_USER), "user")

    @translate
    async def end_sessions(
        self, *, user_id: UUID | None = None, dealership_id: UUID | None = None
    ) -> list[UUID]:
        if (user_id is None) == (dealership_id is None):
            raise ValueError("name exactly one of user_id and dealership_id")
        rows = await self._conn.fetch(
            "UPDATE users SET session_version = session_version + 1"
            " WHERE id = $1 OR dealership_id = $2 RETURNING id",
            user_id,
            dealership_id,
        )
        return [row["id"] for row in rows]

    @translate
    async def list_page(
        self, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[User]:
        """`dealership_id=None` lists every user, super admins included."""
        return await self._all(
            User,
            f"{_SELECT_USER} WHERE ($1::uuid IS NULL OR dealership_id = $1)"
            f" AND {page_after(2, cursor)}",
            dealership_id,
            *page_params(cursor, limit),
        )


class PostgresRefreshTokenRepository(ConnectionRepository):
    @translate
    async def add(self, token: RefreshToken) -> None:
        await self._conn.execute(_INSERT_REFRESH_TOKEN, *params(token, _REFRESH_TOKEN))

    @translate
    async def get(self, token_hash: str) -> RefreshToken | None:
        return await self._one(
            RefreshToken, f"{_SELECT_REFRESH_ROW} WHERE token_hash = $1", token_hash
        )

    @translate
    async def mark_rotated(self, token_hash: str, at: datetime) -> bool:
        """Compare-and-set on `rotated_at IS NULL`: of two concurrent callers one wins."""
        rotated = await self._conn.fetchval(
            "UPDATE refresh_tokens SET rotated_at = $2"
            " WHERE token_hash = $1 AND rotated_at IS NULL RETURNING true",
            token_hash,
            at,
        )
        return rotated is True

    @translate
    async def revoke(self, token_hash: str, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2"
            " WHERE token_hash = $1 AND revoked_at IS NULL",
            token_hash,
            at,
        )

    @translate
    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            family_id,
            at,
        )

    @translate
    async def revoke_users(self, user_ids: Sequence[UUID], at: datetime) -> int:
        status = await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2"
            " WHERE user_id = ANY($1::uuid[]) AND revoked_at IS NULL",
            list(user_ids),
            at,
        )
        return int(status.rpartition(" ")[2] or 0)


_SELECT_ACCOUNT = (
    "SELECT u.id AS user_id, u.role, u.dealership_id, u.active, u.session_version,"
    " coalesce(d.active, true) AS dealership_active"
    " FROM users u LEFT JOIN dealerships d ON d.id = u.dealership_id WHERE u.id = $1"
)


class PostgresAccountStates:
    """Implements AccountStates with one statement on the primary, outside any
    transaction (a replica could still hold the state from before a change).
    Nothing is cached here, so `changed` has nothing to drop."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def get(self, user_id: UUID) -> AccountState | None:
        with translated_errors():
            row = await self._database.primary.fetchrow(_SELECT_ACCOUNT, user_id)
        return None if row is None else from_row(AccountState, row)

    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None:
        del user_ids, dealership_id


class PostgresGenerationReader:
    """Implements GenerationReader with one statement on the primary, outside any
    transaction: a cache hit costs one round trip here, not begin/select/end."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def state(self, dealership_id: UUID) -> KnowledgeBaseState | None:
        with translated_errors():
            row = await self._database.primary.fetchrow(
                "SELECT knowledge_base_generation, vector_generation, vector_profile"
                " FROM dealerships WHERE id = $1",
                dealership_id,
            )
        if row is None:
            return None
        return KnowledgeBaseState(
            generation=row[0], vectors=ActiveVectors(generation=row[1], profile=row[2])
        )
