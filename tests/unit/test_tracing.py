"""Trace context survives a hop through a message; tracing is off unless configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from prometheus_client import CollectorRegistry

from avataradam.adapters.llm.metered import MeteredChatModel
from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.observability.tracing import (
    attached_trace_context,
    configure_tracing,
    extract_trace_context,
    inject_trace_context,
    observed_stream,
    traced,
    tracing_enabled,
)
from avataradam.domain.ports.services import ChatDelta, ChatTurn, ChatUsage


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


def test_injected_context_extracted_by_a_consumer_continues_the_same_trace(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    """Given a producer span, when its context travels in message options and the
    consumer starts a span in the extracted context, the consumer span is its child."""
    with tracer.start_as_current_span("enqueue_ingest", kind=SpanKind.PRODUCER):
        options = {"trace_context": inject_trace_context()}

    message_options = json.loads(json.dumps(options))  # as serialised by the broker
    with tracer.start_as_current_span(
        "ingest_document",
        context=extract_trace_context(message_options["trace_context"]),
        kind=SpanKind.CONSUMER,
    ):
        pass

    producer, consumer = exporter.get_finished_spans()
    assert "traceparent" in options["trace_context"]
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.parent.is_remote


async def test_attached_context_makes_traced_calls_children_of_the_producer(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.start_as_current_span("upload"):
        carrier = inject_trace_context()

    with attached_trace_context(carrier):
        async with traced("embedder.embed", attributes={"batch_size": 8}, tracer=tracer):
            pass

    upload, embed = exporter.get_finished_spans()
    assert embed.name == "embedder.embed"
    assert embed.kind is SpanKind.CLIENT
    assert embed.context.trace_id == upload.context.trace_id
    assert embed.parent is not None
    assert embed.parent.span_id == upload.context.span_id
    assert embed.attributes is not None
    assert embed.attributes["batch_size"] == 8


async def test_traced_nests_spans_and_marks_failures(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    async def answer() -> None:
        async with traced("chat", tracer=tracer):
            async with traced("vector_store.query", tracer=tracer):
                pass
            async with traced("chat_model.complete", tracer=tracer):
                raise ConnectionError("model unreachable")

    with pytest.raises(ConnectionError):
        await answer()

    query, complete, chat = exporter.get_finished_spans()
    assert query.parent is not None
    assert query.parent.span_id == chat.context.span_id
    assert complete.status.status_code is StatusCode.ERROR
    assert [event.name for event in complete.events] == ["exception"]
    assert chat.status.status_code is StatusCode.ERROR
    assert query.status.status_code is StatusCode.UNSET


def test_injecting_without_an_active_span_yields_no_traceparent() -> None:
    assert "traceparent" not in inject_trace_context()


def test_extracting_nothing_starts_a_fresh_trace(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.start_as_current_span("orphan", context=extract_trace_context(None)):
        pass

    [span] = exporter.get_finished_spans()
    assert span.parent is None


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
    ],
)
def test_tracing_is_on_only_when_standard_variables_ask_for_it(
    environ: dict[str, str], enabled: bool
) -> None:
    assert tracing_enabled(environ) is enabled


def test_unconfigured_tracing_installs_nothing_and_spans_are_no_ops() -> None:
    assert configure_tracing("avataradam-test", environ={}) is None
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


_CONFIGURED_PROCESS = textwrap.dedent(
    """
    import asyncio
    from avataradam.adapters.observability.tracing import configure_tracing, traced

    provider = configure_tracing("avataradam-worker")
    assert configure_tracing("avataradam-worker") is provider

    async def main():
        async with traced("vector_store.upsert"):
            pass

    asyncio.run(main())
    provider.shutdown()
    """
)


def test_configured_process_exports_spans_with_its_service_name() -> None:
    """Run in a child process: the global provider can be installed once per process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")} | {
        "OTEL_TRACES_EXPORTER": "console"
    }

    result = subprocess.run(
        [sys.executable, "-c", _CONFIGURED_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    span = json.loads(result.stdout)
    assert span["name"] == "vector_store.upsert"
    assert span["resource"]["attributes"]["service.name"] == "avataradam-worker"


async def test_a_chat_reply_is_a_client_span_with_its_model_and_tokens_child_of_the_request(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    async def reply() -> AsyncIterator[str]:
        with observed_stream(
            Metrics(CollectorRegistry()),
            "chat_model",
            "stream",
            {"gen_ai.request.model": "qwen"},
            tracer=tracer,
        ) as annotate:
            yield "GAP "
            annotate("gen_ai.usage.output_tokens", 2)
            yield "pays."

    with tracer.start_as_current_span("POST /v1/conversations/{id}/messages") as request:
        pieces = []
        async for piece in reply():
            # The reply's span is never current in the reader's context.
            assert trace.get_current_span() is request
            pieces.append(piece)

    chat, http = exporter.get_finished_spans()
    assert pieces == ["GAP ", "pays."]
    assert (chat.name, chat.kind) == ("chat_model.stream", SpanKind.CLIENT)
    assert chat.parent is not None
    assert chat.parent.span_id == http.context.span_id
    assert dict(chat.attributes or {}) == {
        "gen_ai.request.model": "qwen",
        "gen_ai.usage.output_tokens": 2,
    }


async def test_a_chat_reply_that_fails_marks_its_span_as_an_error(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    with (
        pytest.raises(ConnectionError),
        observed_stream(Metrics(CollectorRegistry()), "chat_model", "stream", tracer=tracer),
    ):
        raise ConnectionError("model unreachable")

    [chat] = exporter.get_finished_spans()
    assert chat.status.status_code is StatusCode.ERROR
    assert [event.name for event in chat.events] == ["exception"]


async def test_the_model_calls_span_carries_the_prompt_tokens_its_cache_held(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    class CachingServer:
        name, generative = "qwen", True

        async def stream(
            self,
            turns: Sequence[ChatTurn],
            *,
            max_tokens: int,
            grounding: object = None,
            reply_format: object = None,
            temperature: float | None = None,
        ) -> AsyncIterator[ChatDelta]:
            del turns, max_tokens, grounding, reply_format, temperature
            yield ChatDelta(text="GAP pays.")
            yield ChatDelta(
                text="",
                usage=ChatUsage(prompt_tokens=524, completion_tokens=3, cached_prompt_tokens=290),
            )

    metrics = Metrics(CollectorRegistry())
    metered = MeteredChatModel(
        CachingServer(),
        time_call=lambda operation, attributes: observed_stream(
            metrics, "chat_model", operation, attributes, tracer=tracer
        ),
        record_tokens=lambda *_: None,
    )

    [delta async for delta in metered.stream([], max_tokens=8)]

    [span] = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == 524
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 290
