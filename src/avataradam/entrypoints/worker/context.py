"""The context a queued message carries into the worker: request id and trace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import trace

from avataradam.adapters.observability.tracing import (
    INSTRUMENTATION_NAME,
    attached_trace_context,
)


@contextmanager
def message_context(actor: str, options: Mapping[str, Any], **fields: str) -> Iterator[None]:
    """Binds the producer's request id to log lines and continues its trace.

    The task runs in a CONSUMER span that is a child of the producer's enqueue span, so
    one upload is one trace from the HTTP request to the last pipeline stage.
    """
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=options.get("request_id"), **fields)
    carrier = {k: str(v) for k, v in options.items() if k in {"traceparent", "tracestate"}}
    tracer = trace.get_tracer(INSTRUMENTATION_NAME)
    try:
        with (
            attached_trace_context(carrier),
            tracer.start_as_current_span(f"process {actor}", kind=trace.SpanKind.CONSUMER),
        ):
            yield
    finally:
        structlog.contextvars.clear_contextvars()
