"""HTTP metrics are labelled by route template; every response carries X-Request-ID."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.observability.multiprocess import render_metrics
from avataradam.entrypoints.observability.middleware import (
    HttpMetricsMiddleware,
    RequestContextMiddleware,
    instrument_app,
)

ITEM_ROUTE = "/items/{item_id}"


@get("/items/{item_id:int}")
async def read_item(item_id: FromPath[int]) -> dict[str, int]:
    return {"id": item_id}


@get("/context")
async def read_context(request: Request[Any, Any, State]) -> dict[str, object]:
    structlog.get_logger().info("handler_ran")
    return {
        "state": request.state.get("request_id"),
        "bound": structlog.contextvars.get_contextvars().get("request_id"),
    }


@get("/boom")
async def boom() -> None:
    raise RuntimeError("handler failed")


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = render_metrics(registry)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def requests_total(method: str, route: str, status: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (
        "avataradam_http_requests_total",
        frozenset({("method", method), ("route", route), ("status_class", status)}),
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def instrumented(registry: CollectorRegistry) -> Iterator[TestClient[Litestar]]:
    app = instrument_app(
        Litestar([read_item, read_context, boom], logging_config=None), metrics=Metrics(registry)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_path_parameters_are_labelled_by_route_template_as_litestar_middleware(
    registry: CollectorRegistry,
) -> None:
    app = Litestar(
        [read_item],
        middleware=[DefineMiddleware(HttpMetricsMiddleware, metrics=Metrics(registry))],
        logging_config=None,
    )
    with TestClient(app) as client:
        assert client.get("/items/123").status_code == 200
        assert client.get("/items/456").status_code == 200

    scraped = samples(registry)
    assert scraped[requests_total("GET", ITEM_ROUTE, "2xx")] == 2
    assert not any("123" in value for _, labels in scraped for _, value in labels)


def test_whole_app_instrumentation_labels_templates_and_unknown_paths_as_unmatched(
    registry: CollectorRegistry, instrumented: TestClient[Litestar]
) -> None:
    assert instrumented.get("/items/123").status_code == 200
    assert instrumented.get("/no/such/path/9f8e7d").status_code == 404
    assert instrumented.post("/items/123").status_code == 405

    scraped = samples(registry)
    assert scraped[requests_total("GET", ITEM_ROUTE, "2xx")] == 1
    assert scraped[requests_total("GET", "unmatched", "4xx")] == 1
    assert scraped[requests_total("POST", "unmatched", "4xx")] == 1
    error_labels = frozenset({("method", "GET"), ("route", "unmatched"), ("status_class", "4xx")})
    assert scraped[("avataradam_http_errors_total", error_labels)] == 1
    assert not any("9f8e7d" in value for _, labels in scraped for _, value in labels)


def test_duration_is_observed_and_in_flight_returns_to_zero(
    registry: CollectorRegistry, instrumented: TestClient[Litestar]
) -> None:
    instrumented.get("/items/1")

    scraped = samples(registry)
    route = frozenset({("method", "GET"), ("route", ITEM_ROUTE)})
    assert scraped[("avataradam_http_request_duration_seconds_count", route)] == 1
    assert scraped[("avataradam_http_requests_in_flight", route)] == 0


def test_handler_exception_counts_as_5xx_error_of_its_route(
    registry: CollectorRegistry, instrumented: TestClient[Litestar]
) -> None:
    assert instrumented.get("/boom").status_code == 500

    scraped = samples(registry)
    assert scraped[requests_total("GET", "/boom", "5xx")] == 1
    labels = frozenset({("method", "GET"), ("route", "/boom"), ("status_class", "5xx")})
    assert scraped[("avataradam_http_errors_total", labels)] == 1


def test_unknown_http_methods_do_not_create_new_label_values(
    registry: CollectorRegistry, instrumented: TestClient[Litestar]
) -> None:
    instrumented.request("FROBNICATE", "/items/1")

    methods = {dict(labels).get("method") for _, labels in samples(registry)}
    assert "FROBNICATE" not in methods
    assert "OTHER" in methods


def test_sane_client_request_id_is_echoed_bound_and_stored(
    instrumented: TestClient[Litestar],
) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        response = instrumented.get("/context", headers={"X-Request-ID": "client-id_1.2"})

    assert response.headers["x-request-id"] == "client-id_1.2"
    assert response.json() == {"state": "client-id_1.2", "bound": "client-id_1.2"}
    assert [entry["request_id"] for entry in logs if entry["event"] == "handler_ran"] == [
        "client-id_1.2"
    ]


@pytest.mark.parametrize(
    "unsafe", ["a" * 129, "has space", "semi;colon", "new\tline", "ünïcode", ""]
)
def test_unsafe_client_request_id_is_replaced_by_a_generated_one(
    instrumented: TestClient[Litestar], unsafe: str
) -> None:
    response = instrumented.get("/items/1", headers={b"X-Request-ID": unsafe.encode("utf-8")})

    generated = response.headers["x-request-id"]
    assert generated != unsafe
    assert len(generated) == 32
    assert int(generated, 16) >= 0


def test_every_response_carries_a_request_id_even_404_and_500(
    instrumented: TestClient[Litestar],
) -> None:
    ids = {
        instrumented.get(path).headers.get("x-request-id")
        for path in ("/items/1", "/missing", "/boom")
    }

    assert None not in ids
    assert len(ids) == 3


def test_request_context_is_cleared_after_the_request(registry: CollectorRegistry) -> None:
    app = Litestar([read_item], middleware=[RequestContextMiddleware], logging_config=None)
    with TestClient(app) as client:
        assert "x-request-id" in client.get("/items/1").headers

    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_server_span_continues_caller_trace_and_is_named_by_route(
    registry: CollectorRegistry,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = instrument_app(
        Litestar([read_item, boom], logging_config=None),
        metrics=Metrics(registry),
        tracer=provider.get_tracer("test"),
    )
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent_span_id = "00f067aa0ba902b7"

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/items/7", headers={"traceparent": f"00-{trace_id}-{parent_span_id}-01"})
        client.get("/boom")

    item_span, boom_span = exporter.get_finished_spans()
    assert item_span.name == f"GET {ITEM_ROUTE}"
    assert item_span.kind is SpanKind.SERVER
    assert format(item_span.context.trace_id, "032x") == trace_id
    assert item_span.parent is not None
    assert format(item_span.parent.span_id, "016x") == parent_span_id
    assert item_span.attributes is not None
    assert item_span.attributes["http.response.status_code"] == 200
    assert boom_span.status.status_code is StatusCode.ERROR
