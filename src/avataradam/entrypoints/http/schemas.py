"""Request and response bodies of the public API (v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec

from avataradam.domain.model import Dealership, Role, User

T = TypeVar("T")

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, examples=["admin@example.com"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class TokenRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class UserOut(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    role: Role
    dealership_id: UUID | None
    first_name: str | None
    last_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            dealership_id=user.dealership_id,
            first_name=user.first_name,
            last_name=user.last_name,
            active=user.active,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class DealershipOut(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    active: bool
    knowledge_base_generation: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, dealership: Dealership) -> DealershipOut:
        return cls(
            id=dealership.id,
            name=dealership.name,
            active=dealership.active,
            knowledge_base_generation=dealership.knowledge_base_generation,
            created_at=dealership.created_at,
            updated_at=dealership.updated_at,
        )


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PersonName = Annotated[str, msgspec.Meta(max_length=100)]


class DealershipCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name


class DealershipUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | None = None
    active: bool | None = None


class UserCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    role: Role = Role.USER
    dealership_id: UUID | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None


class UserUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    password: Password | None = None
    role: Role | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    active: bool | None = None


class ListResponse(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None


class LogoutRequest(RefreshRequest, frozen=True, forbid_unknown_fields=True):
    pass
