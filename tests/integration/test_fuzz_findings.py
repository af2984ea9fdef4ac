"""Regressions of what the schemathesis campaign (`just fuzz`) found, one test each."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import PASSWORD, Tenant, problem


@pytest.mark.parametrize("email", ["\x005i\xc7x", "admin\n@example.com", "a\x7f@example.com"])
async def test_sign_in_with_control_characters_in_the_email_is_a_400_not_a_database_error(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})

    assert response.status_code == 400, response.text
    assert problem(response)["code"] == "invalid_request"


async def test_creating_a_user_with_a_nul_in_the_email_is_a_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/users",
        json={"email": "nul\x00@example.com", "password": PASSWORD},
        headers=tenant.admin.headers,
    )

    assert response.status_code == 400, response.text
    assert problem(response)["code"] == "invalid_request"
