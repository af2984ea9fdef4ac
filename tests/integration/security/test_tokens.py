"""Forged, expired and misdirected access tokens answer 401 over HTTP.

Each forgery differs from a token the server accepts (the control) in one claim or in
its signature only, so a 401 can only come from that difference. Refresh-token reuse
revoking the whole family is covered by
tests/integration/test_identity_api.py::test_refresh_rotates_and_reuse_revokes_the_whole_family.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from avataradam.entrypoints.settings import Settings
from tests.integration.conftest import Tenant, problem

OTHER_SECRET = "an-attacker-chosen-secret-of-enough-length"


def _claims(tenant: Tenant, settings: Settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": tenant.user.id,
        "role": "user",
        "dealership_id": tenant.dealership_id,
        "iss": settings.auth.jwt_issuer,
        "aud": settings.auth.jwt_audience,
        "iat": now,
        "exp": now + 300,
        "jti": "forged",
    }
    claims.update(changes)
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _signed(claims: dict[str, Any], secret: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_token_built_like_the_forgeries_but_honest_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    token = _signed(_claims(tenant, settings), settings.auth.jwt_secret)
    response = await _me(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == tenant.user.id


@pytest.mark.parametrize(
    "forgery",
    [
        "alg_none",
        "alg_none_uppercase",
        "wrong_key",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "other_hmac_algorithm",
        "missing_expiry",
        "role_escalated_without_key",
    ],
)
async def test_forged_or_stale_token_answers_401_problem(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, forgery: str
) -> None:
    secret = settings.auth.jwt_secret
    past = int(time.time()) - 3600
    tokens = {
        "alg_none": lambda: _unsigned(_claims(tenant, settings)),
        "alg_none_uppercase": lambda: _unsigned(_claims(tenant, settings)).replace(
            _b64({"alg": "none", "typ": "JWT"}), _b64({"alg": "NONE", "typ": "JWT"})
        ),
        "wrong_key": lambda: _signed(_claims(tenant, settings), OTHER_SECRET),
        "expired": lambda: _signed(_claims(tenant, settings, iat=past - 60, exp=past), secret),
        "wrong_audience": lambda: _signed(_claims(tenant, settings, aud="someone-else"), secret),
        "wrong_issuer": lambda: _signed(_claims(tenant, settings, iss="evil"), secret),
        "other_hmac_algorithm": lambda: _signed(_claims(tenant, settings), secret, "HS384"),
        "missing_expiry": lambda: _signed(
            {k: v for k, v in _claims(tenant, settings).items() if k != "exp"}, secret
        ),
        "role_escalated_without_key": lambda: _signed(
            _claims(tenant, settings, role="super_admin", dealership_id=None), OTHER_SECRET
        ),
    }
    response = await _me(client, tokens[forgery]())
    assert response.status_code == 401, response.text
    assert problem(response)["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_with_a_tampered_payload_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    header, _, signature = _signed(_claims(tenant, settings), settings.auth.jwt_secret).split(".")
    escalated = _b64(_claims(tenant, settings, role="super_admin"))
    response = await client.get(
        "/v1/dealerships", headers={"Authorization": f"Bearer {header}.{escalated}.{signature}"}
    )
    assert response.status_code == 401
