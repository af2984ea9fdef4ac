"""Ending sessions on purpose: an admin ends a user's, a user changes their password."""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, require_role
from avataradam.domain.errors import NotFound, WrongCurrentPassword
from avataradam.domain.model import Role
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, PasswordHasher
from avataradam.domain.usecases.auth import TokenIssuer, TokenPair, end_sessions
from avataradam.domain.usecases.users import GetUser, valid_password


class EndSessions:
    """Ends every session of a user at once: their access tokens are refused from the
    next request on, their refresh tokens are revoked. Admins of the user's dealership
    and super admins; a dealership admin never reaches a super admin (404)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, accounts: AccountStates) -> None:
        self._uow, self._clock, self._accounts = uow, clock, accounts
        self._visible = GetUser(uow)

    async def __call__(self, principal: Principal, user_id: UUID) -> None:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        user = await self._visible(principal, user_id)
        if user.role is Role.SUPER_ADMIN and not principal.is_super_admin:
            raise NotFound("user not found")
        async with self._uow() as uow:
            await end_sessions(uow, self._clock.now(), user_id=user_id)
            await uow.commit()
        await self._accounts.changed(user_ids=[user_id])


class ChangeOwnPassword:
    """The signed-in user changes their own password, proving the current one.

    Every session of the account ends (other devices, a stolen token, the caller's own
    tokens) and the answer is a new session (token pair) for the caller. A wrong
    `current_password` raises WrongCurrentPassword and changes nothing.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        issuer: TokenIssuer,
        accounts: AccountStates,
    ) -> None:
        self._uow, self._hasher, self._clock = uow, hasher, clock
        self._issuer, self._accounts = issuer, accounts

    async def __call__(
        self, principal: Principal, *, current_password: str, new_password: str
    ) -> TokenPair:
        new_hash = self._hasher.hash(valid_password(new_password, field="new_password"))
        async with self._uow() as uow:
            user = await uow.users.get(principal.user_id)
            if user is None:
                raise NotFound("user not found")
            if not self._hasher.verify(user.password_hash, current_password):
                raise WrongCurrentPassword("current_password is wrong", field="current_password")
            now = self._clock.now()
            user = msgspec.structs.replace(user, password_hash=new_hash, updated_at=now)
            await uow.users.update(user)
            await end_sessions(uow, now, user_id=user.id)
            user = msgspec.structs.replace(user, session_version=user.session_version + 1)
            pair = await self._issuer.issue(uow, user, family_id=None)
            await uow.commit()
        await self._accounts.changed(user_ids=[user.id])
        return pair
