"""400 or 422, one rule everywhere (docs/guide/07-errors.md): a malformed request is
`400 invalid_request` naming the field, on every endpoint that takes the parameter.
The endpoints are found by walking the OpenAPI document, so a new list endpoint is
checked without anyone adding it here."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.integration.conftest import Tenant, problem


async def _list_paths(
    client: httpx.AsyncClient, parameters_taken: set[str] | None = None
) -> list[str]:
    """Paths of GET endpoints taking every query parameter of `parameters_taken`
    (default: the list endpoints, `cursor` and `limit`)."""
    taken = parameters_taken or {"cursor", "limit"}
    spec: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    paths = []
    for path, item in spec["paths"].items():
        parameters = item.get("get", {}).get("parameters", [])
        if {p["name"] for p in parameters if p["in"] == "query"} >= taken:
            paths.append(re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path))
    return paths


async def test_a_cursor_the_api_never_issued_and_a_limit_out_of_range_are_both_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    paths = await _list_paths(client)
    assert len(paths) >= 6
    for path in paths:
        for query, field in (("cursor=not-a-cursor", "cursor"), ("limit=500", "limit")):
            response = await client.get(f"{path}?{query}", headers=tenant.admin.headers)
            assert response.status_code == 400, (path, query, response.text)
            body = problem(response)
            assert body["code"] == "invalid_request", (path, query)
            assert [e["field"] for e in body["errors"]] == [field], (path, body)  # type: ignore[attr-defined]
    ordered = await _list_paths(client, {"order"})
    assert {path.rsplit("/", 1)[-1] for path in ordered} == {
        "dealerships",
        "users",
        "documents",
        "webhooks",
        "conversations",
        "feedback",
        "assignments",
    }
    for path in ordered:
        response = await client.get(f"{path}?order=sideways", headers=tenant.admin.headers)
        assert response.status_code == 400, (path, response.text)
        body = problem(response)
        assert body["code"] == "invalid_request", path
        assert [e["field"] for e in body["errors"]] == ["order"], (path, body)  # type: ignore[attr-defined]
