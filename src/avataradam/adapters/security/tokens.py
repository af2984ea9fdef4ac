"""JWT access tokens (PyJWT) with an explicit algorithm allow-list and iss/aud/exp checks."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt

from avataradam.domain.errors import InvalidToken
from avataradam.domain.model import Role
from avataradam.domain.ports.system import AccessClaims


class JwtTokenService:
    """`TokenService` over HMAC-signed JWTs.

    Only the configured algorithm is accepted on verification, so `alg: none` and
    algorithm-confusion tokens are refused, as are tokens without exp/iat/iss/aud/sub.

    Verified tokens are remembered (the last `verified_cache_size`, LRU): a client sends
    the same token on every request, and the signature and claims of a given string never
    change, so only its expiry is checked again: this refuses exactly what full
    verification would. Whether the token's session still lives (`session_version`,
    the account's state) is not the signature's business: `Authenticate` checks it on
    every request.
    """

    def __init__(
        self,
        *,
        secret: str,
        algorithm: str,
        issuer: str,
        audience: str,
        access_ttl_s: int,
        leeway_s: int = 5,
        verified_cache_size: int = 4096,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_s
        self.access_ttl_s = access_ttl_s
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()
        self._verified_cache_size = verified_cache_size
        self._now = now

    def issue(self, claims: AccessClaims) -> str:
        now = datetime.now(UTC)
        payload: dict[str, Any] = {
            "sub": str(claims.user_id),
            "role": claims.role.value,
            "dealership_id": str(claims.dealership_id) if claims.dealership_id else None,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": secrets.token_hex(8),
            "sv": claims.session_version,
        }
        return jwt.encode(payload, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is not None:
            if self._now() > claims.expires_at.timestamp() + self._leeway:
                del self._verified[token]
                raise InvalidToken("access token is not valid")
            self._verified.move_to_end(token)
            return claims
        claims = self._decode(token)
        self._verified[token] = claims
        if len(self._verified) > self._verified_cache_size:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            dealership = payload.get("dealership_id")
            return AccessClaims(
                user_id=UUID(payload["sub"]),
                role=Role(payload["role"]),
                dealership_id=UUID(dealership) if dealership else None,
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
                # Tokens issued before session versions existed belong to version 0.
                session_version=int(payload.get("sv", 0)),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken("access token is not valid") from exc
