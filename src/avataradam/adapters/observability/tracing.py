"""OpenTelemetry tracing, configured only by the standard `OTEL_*` variables.

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
`OTEL_TRACES_EXPORTER` is set (and `OTEL_SDK_DISABLED` is not true). Otherwise nothing
is installed, the API's no-op tracer answers every call, and spans cost next to nothing.
These variables are read here, not from `Settings`, because they are the SDK's own
interface, shared with every OpenTelemetry-aware tool an operator already uses.

Exporter: OTLP over HTTP/protobuf, whose endpoint, headers, timeout and compression the
exporter reads from `OTEL_EXPORTER_OTLP_*` itself; `OTEL_TRACES_EXPORTER=console` prints
spans instead (debugging), `none` turns tracing off. Sampling follows
`OTEL_TRACES_SAMPLER`/`_ARG`, batching `OTEL_BSP_*`, the service name
`OTEL_SERVICE_NAME` when set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from avataradam.adapters.observability.metrics import ExternalService, Metrics

INSTRUMENTATION_NAME: Final = "avataradam"


_ENABLING_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _ENABLING_VARIABLES)


def _exporter(environ: Mapping[str, str]) -> SpanExporter:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        # Imported only where tracing is on: a tenth of a second off every process start.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r}: supported are otlp, console, none")


def configure_tracing(
    service: str, environ: Mapping[str, str] | None = None
) -> TracerProvider | None:
    """Installs the global tracer provider and returns it (the caller shuts it down at
    exit to flush spans), or returns None when tracing is off.

    Idempotent: OpenTelemetry allows one global provider per process, so a second call
    returns the SDK provider already installed.
    """
    env = os.environ if environ is None else environ
    if not tracing_enabled(env):
        return None
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):
        return installed
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME wins over ours.
    service_name = env.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    exporter = _exporter(env)
    processor = (
        SimpleSpanProcessor(exporter)
        if isinstance(exporter, ConsoleSpanExporter)
        else BatchSpanProcessor(exporter)
    )
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    instrument_libraries()
    return provider


def _instrumentors() -> tuple[BaseInstrumentor, ...]:
    return (AsyncPGInstrumentor(), RedisInstrumentor())  # type: ignore[no-untyped-call]


def instrument_libraries() -> None:
    """Client spans for every asyncpg query and Redis command (idempotent)."""
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


def uninstrument_libraries() -> None:
    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def inject_trace_context(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """W3C `traceparent`/`tracestate` (and baggage) of the current span, written into
    `carrier` (a new dict if None), e.g. to travel in a Dramatiq message's options.
    Empty when no span is active."""
    target: dict[str, str] = {} if carrier is None else carrier
    propagate.inject(target)
    return target


def extract_trace_context(carrier: Mapping[str, str] | None) -> Context:
    """The context a producer injected; spans started in it are its children."""
    return propagate.extract(dict(carrier or {}))


@contextmanager
def attached_trace_context(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Makes the extracted context current for the block (a consumer's whole task), so
    spans and log lines inside it belong to the producer's trace."""
    token = otel_context.attach(extract_trace_context(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


@asynccontextmanager
async def traced(
    name: str,
    *,
    attributes: Mapping[str, AttributeValue] | None = None,
    kind: SpanKind = SpanKind.CLIENT,
    tracer: Tracer | None = None,
) -> AsyncIterator[Span]:
    """A span around a call to an external service (embedder, vector store, chat
    model). An exception is recorded, marks the span as an error, and propagates;
    cancellation is not an error of the service and only ends the span."""
    active_tracer = tracer or trace.get_tracer(INSTRUMENTATION_NAME)
    with active_tracer.start_as_current_span(
        name,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


@contextmanager
def observed_call(metrics: Metrics, service: ExternalService, operation: str) -> Iterator[None]:
    """A client span plus the external-call latency/error metrics around one call."""
    tracer = trace.get_tracer(INSTRUMENTATION_NAME)
    with (
        tracer.start_as_current_span(f"{service}.{operation}", kind=SpanKind.CLIENT),
        metrics.external_call(service, operation),
    ):
        yield


Annotate = Callable[[str, str | int | float | bool], None]
"""Sets one attribute on a span (`span.set_attribute`)."""


@contextmanager
def observed_stream(
    metrics: Metrics,
    service: ExternalService,
    operation: str,
    attributes: dict[str, str | int | float | bool] | None = None,
    tracer: Tracer | None = None,
) -> Iterator[Annotate]:
    """A client span plus the external-call metrics around a streamed call (a chat
    reply), yielding a setter for attributes learnt as the stream goes (tokens).

    The span is started in the current context but not made current: the stream is an
    async generator that yields to its reader between deltas, and a span made current
    there would leak into the reader's context. An exception is recorded on the span,
    marks it as an error and propagates.
    """
    active_tracer = tracer or trace.get_tracer(INSTRUMENTATION_NAME)
    span = active_tracer.start_span(
        f"{service}.{operation}", kind=SpanKind.CLIENT, attributes=attributes
    )
    try:
        with metrics.external_call(service, operation):
            yield span.set_attribute
    except Exception as exc:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()
