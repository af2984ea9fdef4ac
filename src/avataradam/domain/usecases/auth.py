"""Login, refresh-token rotation with reuse detection, logout."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal
from avataradam.domain.errors import AuthenticationFailed, InvalidToken, SessionEnded
from avataradam.domain.model import RefreshToken, User
from avataradam.domain.ports.repositories.identity import AccountStates
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import (
    AccessClaims,
    Clock,
    IdGenerator,
    PasswordHasher,
    TokenService,
)


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def hash_refresh_token(token: str) -> str:
    """Only this digest is stored: a database leak yields no usable refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


ROTATION_GRACE = timedelta(seconds=10)
"""A refresh token presented again this soon after its rotation is a concurrent request
of the same session (two tabs, a retry after a lost answer): it gets the same successor
back. Later, or once the successor is used, it is reuse, and the session is revoked
(RFC 9700, section 4.14.2)."""


def successor_token(rotation_key: bytes, refresh_token: str) -> str:
    """The refresh token that replaces `refresh_token` when it is rotated: its
    HMAC-SHA256 under the server's key. Deterministic, so concurrent rotations of one
    token answer one successor; unpredictable to anyone without the key."""
    digest = hmac.new(rotation_key, refresh_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def end_sessions(
    uow: UnitOfWork, at: datetime, *, user_id: UUID | None = None, dealership_id: UUID | None = None
) -> list[UUID]:
    """Ends, within `uow`, every session of one user or of every user of a dealership:
    their `session_version` moves (their access tokens die) and their refresh tokens
    are revoked (for good: a reactivation brings none back). Returns the users
    concerned; the caller commits, then tells `AccountStates.changed`."""
    user_ids = await uow.users.end_sessions(user_id=user_id, dealership_id=dealership_id)
    if user_ids:
        await uow.refresh_tokens.revoke_users(user_ids, at)
    return user_ids


class TokenIssuer:
    """Issues an access token and a new refresh token of a family."""

    def __init__(
        self, tokens: TokenService, clock: Clock, ids: IdGenerator, refresh_ttl_s: int
    ) -> None:
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._refresh_ttl = timedelta(seconds=refresh_ttl_s)

    async def issue(
        self, uow: UnitOfWork, user: User, family_id: UUID | None, *, refresh: str | None = None
    ) -> TokenPair:
        """Stores `refresh` (a new random token if None) in the family, with an access
        token beside it."""
        now = self._clock.now()
        refresh = refresh or secrets.token_urlsafe(32)
        await uow.refresh_tokens.add(
            RefreshToken(
                token_hash=hash_refresh_token(refresh),
                family_id=family_id or self._ids.new_id(),
                user_id=user.id,
                expires_at=now + self._refresh_ttl,
                created_at=now,
                session_version=user.session_version,
            )
        )
        return self.pair(user, refresh)

    def pair(self, user: User, refresh: str) -> TokenPair:
        """A new access token with an already stored refresh token."""
        access = self._tokens.issue(
            AccessClaims(
                user_id=user.id,
                role=user.role,
                dealership_id=user.dealership_id,
                expires_at=self._clock.now() + timedelta(seconds=self._tokens.access_ttl_s),
                session_version=user.session_version,
            )
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            token_type="Bearer",  # noqa: S106 -- the OAuth token type, not a secret
            expires_in=self._tokens.access_ttl_s,
        )


async def _may_sign_in(
    uow: UnitOfWork, user: User | None, *, session_version: int | None = None
) -> bool:
    """Whether `user` may sign in, or (with the `session_version` a token was issued
    under) go on with a session: active, in an active dealership, same version."""
    if user is None or not user.active:
        return False
    if session_version is not None and session_version != user.session_version:
        return False
    if user.dealership_id is None:
        return True
    dealership = await uow.dealerships.get(user.dealership_id)
    return dealership is not None and dealership.active


class Login:
    """Email + password -> token pair. Unknown email and wrong password look the same."""

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher, issuer: TokenIssuer) -> None:
        self._uow = uow
        self._hasher = hasher
        self._issuer = issuer
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    async def __call__(self, email: str, password: str) -> TokenPair:
        async with self._uow() as uow:
            user = await uow.users.get_by_email(normalise_email(email))
            # Verify against a dummy hash for unknown emails so timing reveals nothing.
            valid = self._hasher.verify(user.password_hash if user else self._dummy_hash, password)
            if not valid or not await _may_sign_in(uow, user):
                raise AuthenticationFailed("email or password is wrong")
            assert user is not None  # noqa: S101 -- narrowed by _may_sign_in
            if self._hasher.needs_rehash(user.password_hash):
                user = msgspec.structs.replace(user, password_hash=self._hasher.hash(password))
                await uow.users.update(user)
            pair = await self._issuer.issue(uow, user, family_id=None)
            await uow.commit()
            return pair


class Refresh:
    """Rotates a refresh token into its successor (`successor_token`).

    Presenting a rotated token again within ROTATION_GRACE, while its successor is
    unused, answers that same successor (with a new access token): concurrent refreshes
    of one session get one answer. Any other reuse revokes the token's family.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, issuer: TokenIssuer, secret: bytes
    ) -> None:
        """`secret` is the server's signing secret; the rotation key is derived from it."""
        self._uow = uow
        self._clock = clock
        self._issuer = issuer
        self._rotation_key = hmac.new(secret, b"refresh-token-rotation", hashlib.sha256).digest()

    async def __call__(self, refresh_token: str) -> TokenPair:
        now = self._clock.now()
        token_hash = hash_refresh_token(refresh_token)
        successor = successor_token(self._rotation_key, refresh_token)
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get(token_hash)
            if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
                raise InvalidToken("refresh token is not valid")
            if stored.rotated_at is None and await uow.refresh_tokens.mark_rotated(token_hash, now):
                user = await uow.users.get(stored.user_id)
                if not await _may_sign_in(uow, user, session_version=stored.session_version):
                    raise InvalidToken("refresh token is not valid")
                assert user is not None  # noqa: S101 -- narrowed by _may_sign_in
                pair = await self._issuer.issue(
                    uow, user, family_id=stored.family_id, refresh=successor
                )
                await uow.commit()
                return pair
            replay = await self._replay(uow, successor, stored.rotated_at or now, now)
            if replay is not None:
                return replay
            await uow.refresh_tokens.revoke_family(stored.family_id, now)
            await uow.commit()
            raise InvalidToken("refresh token was already used; its sessions are revoked")

    async def _replay(
        self, uow: UnitOfWork, successor: str, rotated_at: datetime, now: datetime
    ) -> TokenPair | None:
        """The successor again, if the token was rotated moments ago and the successor
        is still the session's live token; else None (reuse)."""
        if now - rotated_at > ROTATION_GRACE:
            return None
        current = await uow.refresh_tokens.get(hash_refresh_token(successor))
        if current is None or current.rotated_at is not None or current.revoked_at is not None:
            return None
        user = await uow.users.get(current.user_id)
        if not await _may_sign_in(uow, user, session_version=current.session_version):
            return None
        assert user is not None  # noqa: S101 -- narrowed by _may_sign_in
        return self._issuer.pair(user, successor)


class Authenticate:
    """An access token -> the caller, as the account is *now*.

    The token's signature and expiry are checked by the `TokenService`; then the
    account's current state (`AccountStates`, cached per process and dropped in every
    process on a change) decides: a user who is gone or deactivated, in a deactivated
    dealership, or whose `session_version` moved since the token was issued is refused
    with SessionEnded. The role and dealership come from the account, not the token, so
    a role change applies to the next request of every session.
    """

    def __init__(self, tokens: TokenService, accounts: AccountStates) -> None:
        self._tokens = tokens
        self._accounts = accounts

    async def __call__(self, token: str) -> Principal:
        claims = self._tokens.verify(token)
        state = await self._accounts.get(claims.user_id)
        if state is None or state.session_version != claims.session_version:
            raise SessionEnded("this session has ended; sign in again")
        if not state.active or not state.dealership_active:
            raise SessionEnded("the account or its dealership is deactivated")
        return Principal(user_id=state.user_id, role=state.role, dealership_id=state.dealership_id)


class Logout:
    """Revokes the session (token family) of a refresh token owned by the caller."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, principal: Principal, refresh_token: str) -> None:
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get(hash_refresh_token(refresh_token))
            if stored is None or stored.user_id != principal.user_id:
                raise InvalidToken("refresh token is not valid")
            await uow.refresh_tokens.revoke_family(stored.family_id, self._clock.now())
            await uow.commit()
