"""User management. Dealership admins manage their own dealership only."""

from __future__ import annotations

import contextlib
import re
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role, visible_dealership
from avataradam.domain.errors import (
    CurrentPasswordRequired,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from avataradam.domain.model import Role, User
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator, PasswordHasher
from avataradam.domain.usecases.auth import end_sessions, normalise_email

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MIN_EMAIL_LENGTH = 5
"""The shortest address `_EMAIL` admits: `a@b.c`."""
MAX_EMAIL_LENGTH = 320
MAX_PERSON_NAME_LENGTH = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MANAGERS = (Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password: str
    role: Role
    dealership_id: UUID | None = None
    first_name: str | None = None
    last_name: str | None = None


class UserChanges(msgspec.Struct, frozen=True, kw_only=True):
    password: str | None = None
    role: Role | None = None
    first_name: str | None = None
    last_name: str | None = None
    active: bool | None = None


def valid_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput("email is not a valid address", field="email")
    return email


def valid_password(password: str, *, field: str = "password") -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"{field} must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            field=field,
        )
    return password


def valid_person_name(name: str | None, *, field: str) -> str | None:
    if name is not None and len(name) > MAX_PERSON_NAME_LENGTH:
        raise InvalidInput(f"{field} is at most {MAX_PERSON_NAME_LENGTH} characters", field=field)
    return name


def _check_role_grant(principal: Principal, role: Role) -> None:
    if role is Role.SUPER_ADMIN and not principal.is_super_admin:
        raise PermissionDenied("only a super admin can grant the super_admin role")


class CreateUser:
    def __init__(
        self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow, self._hasher, self._clock, self._ids = uow, hasher, clock, ids

    async def __call__(self, principal: Principal, new: NewUser) -> User:
        require_role(principal, *_MANAGERS)
        _check_role_grant(principal, new.role)
        dealership_id = (
            None if new.role is Role.SUPER_ADMIN else dealership_scope(principal, new.dealership_id)
        )
        return await self.create(new, dealership_id)

    async def create(self, new: NewUser, dealership_id: UUID | None) -> User:
        """Creates without a principal: the operator's `create-admin` path."""
        now = self._clock.now()
        user = User(
            id=self._ids.new_id(),
            email=valid_email(new.email),
            password_hash=self._hasher.hash(valid_password(new.password)),
            role=new.role,
            dealership_id=dealership_id,
            first_name=valid_person_name(new.first_name, field="first_name"),
            last_name=valid_person_name(new.last_name, field="last_name"),
            active=True,
            created_at=now,
            updated_at=now,
        )
        if user.role is not Role.SUPER_ADMIN and dealership_id is None:
            raise InvalidInput("dealership_id is required for this role", field="dealership_id")
        async with self._uow() as uow:
            if dealership_id is not None and await uow.dealerships.get(dealership_id) is None:
                raise NotFound("dealership not found")
            await uow.users.add(user)
            await uow.commit()
        return user


async def _visible_user(uow: UnitOfWork, principal: Principal, user_id: UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None or not visible_dealership(principal, user.dealership_id):
        raise NotFound("user not found")
    return user


class GetUser:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, principal: Principal, user_id: UUID) -> User:
        """Reads on the replica; a miss there is asked of the primary before it is a
        404: a user created a moment ago (a new trainee's first `GET /v1/me`) may not
        have reached an asynchronous replica yet. Raises NotFound, Forbidden."""
        if user_id != principal.user_id:
            require_role(principal, *_MANAGERS)
        async with self._uow(read_only=True) as uow:
            with contextlib.suppress(NotFound):
                return await _visible_user(uow, principal, user_id)
        async with self._uow() as uow:
            return await _visible_user(uow, principal, user_id)


class ListUsers:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[User]:
        require_role(principal, *_MANAGERS)
        scope = (
            dealership_id
            if principal.is_super_admin
            else dealership_scope(principal, dealership_id)
        )
        async with self._uow(read_only=True) as uow:
            return await uow.users.list_page(dealership_id=scope, cursor=cursor, limit=limit)


class UpdateUser:
    """Changes a user's password, role, names or active flag (DELETE deactivates).

    A password reset or a deactivation ends every session of the user (`end_sessions`);
    a role change applies to the next request of their sessions, which go on. One's own
    password is changed with `ChangeOwnPassword`, which asks for the current one.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        accounts: AccountStates,
    ) -> None:
        self._uow, self._hasher, self._clock, self._accounts = uow, hasher, clock, accounts

    async def __call__(self, principal: Principal, user_id: UUID, changes: UserChanges) -> User:
        require_role(principal, *_MANAGERS)
        if changes.password is not None and user_id == principal.user_id:
            raise CurrentPasswordRequired(
                "change your own password with POST /v1/me/password and your current one"
            )
        if changes.role is not None:
            _check_role_grant(principal, changes.role)
        async with self._uow() as uow:
            current = await _visible_user(uow, principal, user_id)
            if current.role is Role.SUPER_ADMIN and not principal.is_super_admin:
                raise NotFound("user not found")
            if changes.role is not None and (changes.role is Role.SUPER_ADMIN) != (
                current.role is Role.SUPER_ADMIN
            ):
                raise InvalidInput(
                    "a user cannot move in or out of the super_admin role", field="role"
                )
            if user_id == principal.user_id and changes.active is False:
                raise InvalidInput("you cannot deactivate yourself", field="active")
            updated = msgspec.structs.replace(
                current,
                password_hash=(
                    self._hasher.hash(valid_password(changes.password))
                    if changes.password is not None
                    else current.password_hash
                ),
                role=changes.role or current.role,
                first_name=current.first_name
                if changes.first_name is None
                else valid_person_name(changes.first_name, field="first_name"),
                last_name=current.last_name
                if changes.last_name is None
                else valid_person_name(changes.last_name, field="last_name"),
                active=changes.active if changes.active is not None else current.active,
                updated_at=self._clock.now(),
            )
            await uow.users.update(updated)
            if changes.password is not None or (current.active and not updated.active):
                await end_sessions(uow, updated.updated_at, user_id=user_id)
                updated = msgspec.structs.replace(
                    updated, session_version=updated.session_version + 1
                )
            await uow.commit()
        await self._accounts.changed(user_ids=[user_id])
        return updated
