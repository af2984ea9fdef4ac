"""schemathesis against the live server's OpenAPI document: every operation, authenticated.

A real `avataradam serve` process answers generated requests, valid and invalid ones;
each answer must not be a server error and must conform to the document: a documented
status code, the documented content type and the documented schema. Operations that
take an object id are fuzzed once more with the id of a real object, so generated
bodies reach the use case instead of stopping at a 404. The number of examples per
operation is bounded so the whole run stays well under a minute and a half.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import load_settings
from ops.harness.processes import free_port, wait_until_healthy
from tests.integration.conftest import PASSWORD, service_environment
from tests.support.processes import ServiceProcess

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
"""Per operation and mode; `just fuzz` runs a longer campaign with more."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class LiveApi:
    base_url: str
    super_admin: dict[str, str]
    admin: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)
    """Path parameter name -> id of a real object the admin (or super admin) may reach."""

    def headers_for(self, path: str) -> dict[str, str]:
        """Dealership management (and `/v1/admin`, here on the spare dealership) is the
        super admin's; everything else a dealership admin's."""
        return self.super_admin if path.startswith(("/v1/dealerships", "/v1/admin")) else self.admin

    def post(self, path: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code in {200, 201, 202}, response.text
        body: dict[str, Any] = response.json()
        return body


def _sign_in(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _create_super_admin(env: dict[str, str], email: str, log: Path) -> None:
    process = ServiceProcess(
        ["create-admin", "--email", email, "--password", PASSWORD, "--role", "super_admin"],
        env,
        log,
    ).start()
    assert process.process is not None
    assert process.process.wait(60) == 0, process.output()


def _knowledge_gap(api: LiveApi, env: dict[str, str], dealership_id: str) -> str:
    """The admin's dealership's one knowledge gap, grouped in this process (a worker may
    not run): its rated-down question is a gap whatever the retrieval found."""

    async def group() -> None:
        container = build_container(load_settings(env, env_file=None))
        await container.start()
        try:
            await container.knowledge_gaps.group(uuid.UUID(dealership_id))
        finally:
            await container.close()

    asyncio.run(group())
    listed = httpx.get(f"{api.base_url}/v1/analytics/knowledge-gaps", headers=api.admin, timeout=30)
    assert listed.status_code == 200, listed.text
    [gap] = listed.json()["items"]
    return str(gap["id"])


def _seed(api: LiveApi, env: dict[str, str], dealership_id: str) -> None:
    """One object of each kind, so fuzzing also runs with ids that exist."""
    spare = api.post("/v1/dealerships", api.super_admin, json={"name": "Fuzz Spare"})
    user = api.post(
        "/v1/users",
        api.admin,
        json={"email": f"fuzz-user-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD},
    )
    document = api.post(
        "/v1/documents",
        api.admin,
        files={"file": ("gap.txt", b"GAP covers the loan gap after a total loss.\n" * 5)},
        data={"topic": "product_knowledge"},
    )
    webhook = api.post(
        "/v1/webhooks",
        api.admin,
        json={"url": "https://hooks.example.com/fuzz", "events": ["document.ready"]},
    )
    scenario = api.post(
        "/v1/scenarios",
        api.admin,
        json={
            "slug": "fuzz_customer",
            "title": "Fuzz customer",
            "product": "gap",
            "difficulty": 1,
            "persona": {
                "name": "Fuzz",
                "description": "a customer made for fuzzing",
                "opening_lines": ["Hello."],
                "script": ["Is it optional?"],
            },
            "objectives": ["Say that GAP is optional."],
        },
    )
    assignment = api.post(
        "/v1/assignments",
        api.admin,
        json={
            "scenario_id": scenario["id"],
            "assignee_ids": [user["id"]],
            "due_at": "2999-01-01T00:00:00Z",
            "min_score": 70,
        },
    )
    rubric = api.post(
        "/v1/rubrics",
        api.admin,
        json={
            "id": "fuzz-rubric",
            "title": "Fuzz rubric",
            "criteria": [
                {
                    "id": "discovery",
                    "title": "Discovery",
                    "weight": 1,
                    "checks": [{"uses": "fi-office/asked_budget"}],
                }
            ],
        },
    )
    conversation = api.post("/v1/conversations", api.admin, json={"mode": "training"})
    reply = api.post(
        f"/v1/conversations/{conversation['id']}/messages",
        api.admin,
        json={"content": "What does GAP cover?"},
    )
    api.post(f"/v1/messages/{reply['id']}/feedback", api.admin, json={"rating": "down"})
    reembedding = api.post(
        f"/v1/admin/dealerships/{spare['id']}/reembeddings",
        api.super_admin,
        json={"profile": "hashing:none"},
    )
    api.objects.update(
        generation=str(reembedding["generation"]),
        dealership_id=spare["id"],
        user_id=user["id"],
        document_id=document["id"],
        index="0",  # its first passage (404 until the document is ready: no worker here)
        webhook_id=webhook["id"],
        scenario_id=scenario["id"],
        assignment_id=assignment["id"],
        rubric=rubric["id"],  # own: publishing a version reaches the use case
        conversation_id=conversation["id"],
        message_id=reply["id"],
        gap_id=_knowledge_gap(api, env, dealership_id),
    )


@pytest.fixture(scope="module")
def live_api(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    port = free_port()
    env = service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_PORT": str(port),
        # Fuzzing is not a load test: generous limits keep the handlers, not the limiter, busy.
        "AVATARADAM_RATE_LIMIT_CHAT_LIMIT": "10000",
        "AVATARADAM_RATE_LIMIT_SEARCH_LIMIT": "10000",
        "AVATARADAM_RATE_LIMIT_UPLOAD_LIMIT": "10000",
        "AVATARADAM_RATE_LIMIT_DEALERSHIP_LIMIT": "100000",
    }
    logs = tmp_path_factory.mktemp("fuzz")
    root_email = f"fuzz-root-{uuid.uuid4().hex[:8]}@example.com"
    _create_super_admin(env, root_email, logs / "cli.log")
    process = ServiceProcess(["serve"], env, logs / "api.log").start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        root = _sign_in(base_url, root_email)
        api = LiveApi(base_url, root, {})
        dealership = api.post("/v1/dealerships", root, json={"name": "Fuzz Motors"})
        admin_email = f"fuzz-admin-{uuid.uuid4().hex[:8]}@example.com"
        api.post(
            "/v1/users",
            root,
            json={
                "email": admin_email,
                "password": PASSWORD,
                "role": "dealership_admin",
                "dealership_id": dealership["id"],
            },
        )
        api.admin = _sign_in(base_url, admin_email)
        _seed(api, env, dealership["id"])
        yield api
    finally:
        process.stop()
        print(process.output()[-5000:])  # noqa: T201 -- shown by pytest only when a test fails


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_api.base_url}/schema/openapi.json")


Operation = APIOperation[Any, Any, Any, Any]


def fuzz(
    operation: Operation,
    api: LiveApi,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None = None,
) -> list[str]:
    """Runs generated cases of one operation; returns the failures (not shrunk: speed)."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Operation]) -> None:
        try:
            case.call_and_validate(
                base_url=api.base_url,
                headers=api.headers_for(operation.path),
                checks=CHECKS,
                timeout=30,
            )
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- collected, then reported
            if len(failures) < 3:
                failures.append(
                    f"{operation.label} ({mode.value}): {exc}\n{case.as_curl_command()}"
                )

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # An operation without inputs has no invalid request to make.
    return failures


def test_every_operation_answers_as_documented(
    live_api: LiveApi, api_schema: schemathesis.BaseSchema
) -> None:
    operations: list[Operation] = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) >= 30
    failures: list[str] = []
    with_real_ids = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz(operation, live_api, mode)
        names = [parameter.name for parameter in operation.path_parameters]
        if names:
            assert set(names) <= set(live_api.objects), f"no real object for {operation.label}"
            real = {name: live_api.objects[name] for name in names}
            failures += fuzz(operation, live_api, GenerationMode.POSITIVE, real)
            with_real_ids += 1
    assert not failures, "\n\n".join(failures)
    assert with_real_ids >= 14
