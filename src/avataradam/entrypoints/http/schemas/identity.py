"""Bodies of sign-in, tokens, the caller's profile and user management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_PERSON_NAME_LENGTH,
    MIN_EMAIL_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from avataradam.entrypoints.http.schemas.common import DealershipId

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_EMAIL_LENGTH,
        max_length=MAX_EMAIL_LENGTH,
        # No control characters: PostgreSQL refuses NUL in text, and no address has them.
        pattern=r"^[^\x00-\x1f\x7f]*$",
        examples=["admin@example.com"],
    ),
]
Password = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description="The account's password as it was set (a wrong one is simply wrong).",
        examples=["correct-horse-battery-staple"],
    ),
]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
        examples=["correct-horse-battery-staple"],
    ),
]

PersonName = Annotated[str, msgspec.Meta(max_length=MAX_PERSON_NAME_LENGTH, examples=["Dana"])]


class TokenRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh_token: Annotated[
        str, msgspec.Meta(min_length=1, max_length=512, examples=["Qm9ndXMtcmVmcmVzaC10b2tlbg"])
    ]


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


class UserCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: NewPassword
    role: Role = Role.USER
    dealership_id: DealershipId | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None


class UserUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    password: NewPassword | None = None
    """A reset by an admin: every session of the user ends. Not for one's own password
    (`current_password_required`: use POST /v1/me/password)."""
    role: Role | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    active: bool | None = None


class PasswordChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class LogoutRequest(RefreshRequest, frozen=True, forbid_unknown_fields=True):
    pass
