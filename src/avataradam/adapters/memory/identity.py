"""In-memory twins of the identity repositories (see `adapters/postgres/identity.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, page, replace, require
from avataradam.adapters.memory.store import InMemoryStore, InMemoryTransaction, Tables
from avataradam.domain.errors import EmailTaken, NotFound
from avataradam.domain.model import (
    AccountState,
    Dealership,
    RefreshToken,
    User,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.vectors import ActiveVectors, KnowledgeBaseState, active_vectors


class InMemoryDealershipRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, dealership: Dealership) -> None:
        self._tx.write(lambda t: insert(t.dealerships, dealership.id, dealership))

    async def get(self, dealership_id: UUID) -> Dealership | None:
        return self._tx.tables.dealerships.get(dealership_id)

    async def update(self, dealership: Dealership) -> None:
        def op(t: Tables) -> None:
            current = t.dealerships.get(dealership.id)
            if current is None:
                raise NotFound("dealership not found")
            t.dealerships[dealership.id] = msgspec.structs.replace(
                dealership,
                knowledge_base_generation=current.knowledge_base_generation,
                vector_generation=current.vector_generation,
                vector_profile=current.vector_profile,
            )

        self._tx.write(op)

    async def list_page(self, *, cursor: Cursor | None, limit: int) -> list[Dealership]:
        rows = self._tx.tables.dealerships.values()
        return page(rows, lambda d: (d.created_at, d.id), cursor, limit)

    async def bump_generation(self, dealership_id: UUID) -> int:
        def op(t: Tables) -> int:
            current = t.dealerships.get(dealership_id)
            if current is None:
                raise NotFound("dealership not found")
            generation = current.knowledge_base_generation + 1
            t.dealerships[dealership_id] = msgspec.structs.replace(
                current, knowledge_base_generation=generation
            )
            return generation

        return self._tx.write(op)

    async def vectors_for_update(self, dealership_id: UUID) -> ActiveVectors | None:
        """Like a row lock: a commit after another one switched them fails with
        ConcurrentUpdate."""

        def op(t: Tables) -> ActiveVectors | None:
            current = t.dealerships.get(dealership_id)
            return None if current is None else active_vectors(current)

        return self._tx.write(op, replay_must_agree=True)

    async def record_vector_profile(self, dealership_id: UUID, profile: str) -> None:
        def op(t: Tables) -> None:
            current = t.dealerships.get(dealership_id)
            if current is not None and current.vector_profile is None:
                t.dealerships[dealership_id] = msgspec.structs.replace(
                    current, vector_profile=profile
                )

        self._tx.write(op)

    async def vector_profiles(self) -> list[str]:
        found = {d.vector_profile for d in self._tx.tables.dealerships.values()}
        return sorted(p for p in found if p is not None)

    async def switch_vectors(self, dealership_id: UUID, vectors: ActiveVectors) -> int:
        def op(t: Tables) -> int:
            current = t.dealerships.get(dealership_id)
            if current is None:
                raise NotFound("dealership not found")
            generation = current.knowledge_base_generation + 1
            t.dealerships[dealership_id] = msgspec.structs.replace(
                current,
                knowledge_base_generation=generation,
                vector_generation=vectors.generation,
                vector_profile=vectors.profile,
            )
            return generation

        return self._tx.write(op)


def _email_taken(t: Tables, user: User) -> bool:
    email = user.email.lower()
    return any(u.email.lower() == email and u.id != user.id for u in t.users.values())


class InMemoryUserRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, user: User) -> None:
        def op(t: Tables) -> None:
            if user.dealership_id is not None:
                require(t.dealerships, user.dealership_id, "dealership")
            if _email_taken(t, user):
                raise EmailTaken("another user already has this email", field="email")
            insert(t.users, user.id, user)

        self._tx.write(op)

    async def get(self, user_id: UUID) -> User | None:
        return self._tx.tables.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        email = email.lower()
        return next((u for u in self._tx.tables.users.values() if u.email.lower() == email), None)

    async def update(self, user: User) -> None:
        def op(t: Tables) -> None:
            if _email_taken(t, user):
                raise EmailTaken("another user already has this email", field="email")
            current = t.users.get(user.id)
            kept = (
                user
                if current is None
                else msgspec.structs.replace(user, session_version=current.session_version)
            )
            replace(t.users, user.id, kept, "user")

        self._tx.write(op)

    async def end_sessions(
        self, *, user_id: UUID | None = None, dealership_id: UUID | None = None
    ) -> list[UUID]:
        if (user_id is None) == (dealership_id is None):
            raise ValueError("name exactly one of user_id and dealership_id")

        def op(t: Tables) -> list[UUID]:
            moved = [
                u
                for u in t.users.values()
                if u.id == user_id
                or (dealership_id is not None and u.dealership_id == dealership_id)
            ]
            for u in moved:
                t.users[u.id] = msgspec.structs.replace(u, session_version=u.session_version + 1)
            return [u.id for u in moved]

        return self._tx.write(op)

    async def list_page(
        self, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[User]:
        rows = [
            u
            for u in self._tx.tables.users.values()
            if dealership_id is None or u.dealership_id == dealership_id
        ]
        return page(rows, lambda u: (u.created_at, u.id), cursor, limit)


class InMemoryRefreshTokenRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, token: RefreshToken) -> None:
        def op(t: Tables) -> None:
            require(t.users, token.user_id, "user")
            insert(t.refresh_tokens, token.token_hash, token)

        self._tx.write(op)

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._tx.tables.refresh_tokens.get(token_hash)

    async def mark_rotated(self, token_hash: str, at: datetime) -> bool:
        def op(t: Tables) -> bool:
            token = t.refresh_tokens.get(token_hash)
            if token is None or token.rotated_at is not None:
                return False
            t.refresh_tokens[token_hash] = msgspec.structs.replace(token, rotated_at=at)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def revoke(self, token_hash: str, at: datetime) -> None:
        def op(t: Tables) -> None:
            token = t.refresh_tokens.get(token_hash)
            if token is not None and token.revoked_at is None:
                t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)

        self._tx.write(op)

    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        def op(t: Tables) -> None:
            for token_hash, token in list(t.refresh_tokens.items()):
                if token.family_id == family_id and token.revoked_at is None:
                    t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)

        self._tx.write(op)

    async def revoke_users(self, user_ids: Sequence[UUID], at: datetime) -> int:
        users = set(user_ids)

        def op(t: Tables) -> int:
            revoked = 0
            for token_hash, token in list(t.refresh_tokens.items()):
                if token.user_id in users and token.revoked_at is None:
                    t.refresh_tokens[token_hash] = msgspec.structs.replace(token, revoked_at=at)
                    revoked += 1
            return revoked

        return self._tx.write(op)


class InMemoryAccountStates:
    """Implements AccountStates on the committed tables of an InMemoryStore."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, user_id: UUID) -> AccountState | None:
        tables = self._store.tables
        user = tables.users.get(user_id)
        if user is None:
            return None
        dealership = tables.dealerships.get(user.dealership_id) if user.dealership_id else None
        return AccountState(
            user_id=user.id,
            role=user.role,
            dealership_id=user.dealership_id,
            active=user.active,
            dealership_active=dealership.active if dealership is not None else True,
            session_version=user.session_version,
        )

    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None:
        del user_ids, dealership_id


class InMemoryGenerationReader:
    """Implements GenerationReader on the committed tables of an InMemoryStore."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def state(self, dealership_id: UUID) -> KnowledgeBaseState | None:
        dealership = self._store.tables.dealerships.get(dealership_id)
        if dealership is None:
            return None
        return KnowledgeBaseState(
            generation=dealership.knowledge_base_generation, vectors=active_vectors(dealership)
        )
