"""JWT access tokens (PyJWT) with an explicit algorithm allow-list and iss/aud/exp checks."""

from __future__ import annotations

import secrets
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
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_s
        self.access_ttl_s = access_ttl_s

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
        }
        return jwt.encode(payload, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> AccessClaims:
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
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken("access token is not valid") from exc
