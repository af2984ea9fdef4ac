"""Log lines are JSON with the contract fields, and secrets never reach them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from avataradam.entrypoints.observability.logging import (
    bind_request_context,
    clear_request_context,
    configure_logging,
    reset_logging,
)
from avataradam.entrypoints.observability.redaction import (
    REDACTED,
    SENSITIVE_KEYS,
    redact,
    redact_sensitive,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Configures JSON logging and yields a reader of the lines written to stdout."""
    configure_logging(service="avataradam-test", level="DEBUG", fmt="json")
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    yield read
    clear_request_context()
    structlog.contextvars.clear_contextvars()
    reset_logging()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Tests here install process-wide logging; later test modules must not inherit it."""
    yield
    reset_logging()


def test_structlog_event_is_one_json_line_with_contract_fields(json_logs: Any) -> None:
    bind_request_context(request_id="req-1", user_id="u-1", dealership_id="d-1")

    structlog.get_logger("avataradam.test").info("chat_request", results_count=3)

    [line] = json_logs()
    assert line["event"] == "chat_request"
    assert line["level"] == "info"
    assert line["service"] == "avataradam-test"
    assert line["timestamp"].endswith("Z")
    assert line["request_id"] == "req-1"
    assert line["user_id"] == "u-1"
    assert line["dealership_id"] == "d-1"
    assert line["results_count"] == 3
    assert list(line)[:4] == ["timestamp", "level", "service", "event"]


def test_values_json_cannot_encode_are_logged_as_their_repr(json_logs: Any) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque 7>"

    log = structlog.get_logger("avataradam.test")
    log.info("odd_value", thing=Opaque(), uuid=uuid.UUID(int=1), amount=Decimal("1.50"))
    log.info("odd_keys", pairs={(1, 2): "tuple key"}, big=2**70)

    odd_value, odd_keys = json_logs()
    assert odd_value["thing"] == "<opaque 7>"
    assert odd_value["uuid"] == "00000000-0000-0000-0000-000000000001"
    assert odd_value["amount"] == "1.50"
    assert odd_value["logger"] == "avataradam.test"
    assert odd_keys["event"] == "odd_keys"
    assert "tuple key" in json.dumps(odd_keys)
    assert odd_keys["big"] == 2**70


def test_a_level_below_the_configured_one_is_dropped_before_any_processing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="avataradam-test", level="WARNING", fmt="json")
    capsys.readouterr()

    structlog.get_logger("avataradam.test").info("quiet")
    structlog.get_logger("avataradam.test").warning("loud %s", "formatted")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event"] for line in lines] == ["loud formatted"]


def test_stdlib_library_loggers_render_as_json_through_the_same_pipeline(json_logs: Any) -> None:
    bind_request_context(request_id="req-2")

    for name in ("uvicorn.error", "dramatiq.worker", "granian", "asyncpg.pool"):
        logging.getLogger(name).warning("library says %s", "hello")

    lines = json_logs()
    assert [line["logger"] for line in lines] == [
        "uvicorn.error",
        "dramatiq.worker",
        "granian",
        "asyncpg.pool",
    ]
    for line in lines:
        assert line["event"] == "library says hello"
        assert line["level"] == "warning"
        assert line["service"] == "avataradam-test"
        assert line["request_id"] == "req-2"


def test_configuring_twice_writes_each_record_once(json_logs: Any) -> None:
    configure_logging(service="avataradam-test", level="INFO", fmt="json")
    configure_logging(service="avataradam-test", level="INFO", fmt="json")

    structlog.get_logger().info("once")
    logging.getLogger("uvicorn.error").info("once too")

    assert [line["event"] for line in json_logs()] == ["once", "once too"]


def test_server_access_lines_are_off_because_http_request_is_the_access_log(
    json_logs: Any,
) -> None:
    logging.getLogger("uvicorn.access").info('127.0.0.1:1 - "GET / HTTP/1.1" 200')
    logging.getLogger("granian.access").info("GET / 200")
    logging.getLogger("uvicorn.error").info("still here")

    assert [line["event"] for line in json_logs()] == ["still here"]


def test_level_filters_both_structlog_and_stdlib_records(json_logs: Any) -> None:
    configure_logging(service="avataradam-test", level="WARNING", fmt="json")

    structlog.get_logger().info("dropped")
    logging.getLogger("dramatiq").info("dropped too")
    structlog.get_logger().warning("kept")

    assert [line["event"] for line in json_logs()] == ["kept"]


@pytest.mark.parametrize("key", sorted(SENSITIVE_KEYS))
def test_every_sensitive_key_is_redacted_in_the_json_line(json_logs: Any, key: str) -> None:
    structlog.get_logger().info("event_with_secret", **{key: "s3cr3t-value"})

    [line] = json_logs()
    assert line[key] == REDACTED
    assert "s3cr3t-value" not in json.dumps(line)


@pytest.mark.parametrize(
    "key", ["Authorization", "X-Api-Key", "Set-Cookie", "PASSWORD", "openai_api_key", "csrf_token"]
)
def test_sensitive_keys_match_case_insensitively_and_by_suffix(key: str) -> None:
    assert redact({key: "s3cr3t"}) == {key: REDACTED}


def test_nested_secrets_in_dicts_and_lists_are_redacted(json_logs: Any) -> None:
    structlog.get_logger().info(
        "webhook_configured",
        headers={"Authorization": "Bearer abc", "Accept": "application/json"},
        attempts=[{"secret": "x"}, {"document_text": "confidential"}, "plain"],
    )

    [line] = json_logs()
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert line["attempts"] == [{"secret": REDACTED}, {"document_text": REDACTED}, "plain"]


def test_bearer_jwt_and_webhook_secret_inside_messages_are_scrubbed(json_logs: Any) -> None:
    structlog.get_logger().info(
        f"got header Bearer {JWT} and signing with {WEBHOOK_SECRET}",
        detail=f"token was {JWT}!",
    )
    logging.getLogger("uvicorn.error").error("Authorization: bearer %s", "opaque-token-123")

    text = json.dumps(json_logs())
    for secret in (JWT, WEBHOOK_SECRET, "opaque-token-123", "eyJ"):
        assert secret not in text
    assert "[REDACTED]" in text


def test_password_in_a_database_url_is_scrubbed() -> None:
    assert (
        redact("connecting to postgresql://app:hunter2@db:5432/avataradam")
        == f"connecting to postgresql://app:{REDACTED}@db:5432/avataradam"
    )


def test_stdlib_extra_fields_are_redacted_too(json_logs: Any) -> None:
    logging.getLogger("litestar").info("login", extra={"password": "pw", "email": "a@b.c"})

    [line] = json_logs()
    assert line["password"] == REDACTED
    assert line["email"] == "a@b.c"


def test_exception_tracebacks_are_json_and_scrubbed(json_logs: Any) -> None:
    def fail() -> None:
        raise RuntimeError(f"upstream rejected Bearer {JWT}")

    try:
        fail()
    except RuntimeError:
        structlog.get_logger().exception("embedder_failed")

    [line] = json_logs()
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert JWT not in json.dumps(line)


def test_trace_and_span_ids_come_from_the_recording_span(json_logs: Any) -> None:
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("chat") as span:
        structlog.get_logger().info("inside_span")
        logging.getLogger("asyncpg").info("stdlib inside span")
    structlog.get_logger().info("outside_span")

    inside, stdlib_inside, outside = json_logs()
    context = span.get_span_context()
    for line in (inside, stdlib_inside):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside


def test_clear_request_context_forgets_correlation_fields(json_logs: Any) -> None:
    bind_request_context(request_id="r", user_id="u", dealership_id="d")
    clear_request_context()

    structlog.get_logger().info("after")

    [line] = json_logs()
    assert not {"request_id", "user_id", "dealership_id"} & line.keys()


def test_capture_logs_with_redaction_processor_sees_context_and_masks_secrets() -> None:
    configure_logging(service="avataradam-test", level="INFO", fmt="json")
    bind_request_context(request_id="req-cap")
    try:
        with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars, redact_sensitive]
        ) as captured:
            structlog.get_logger().info("auth_token_issued", access_token=JWT, user="u-1")
    finally:
        clear_request_context()

    assert captured == [
        {
            "event": "auth_token_issued",
            "access_token": REDACTED,
            "user": "u-1",
            "request_id": "req-cap",
            "log_level": "info",
        }
    ]


def test_console_format_renders_human_readable_and_still_redacts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="avataradam-test", level="INFO", fmt="console")
    try:
        structlog.get_logger().info("dev_event", password="pw-visible?")
        out = capsys.readouterr().out
    finally:
        configure_logging(service="avataradam-test", level="INFO", fmt="json")

    assert "dev_event" in out
    assert "pw-visible?" not in out
    assert not out.lstrip().startswith("{")


def test_reset_logging_removes_the_handler_it_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="avataradam-test", level="INFO", fmt="json")
    reset_logging()

    logging.getLogger("uvicorn.error").warning("not ours any more")

    assert "{" not in capsys.readouterr().out


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(service="s", level="LOUD", fmt="json")


_secret_text = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=6
)


@given(prefix=st.text(max_size=20), secret=_secret_text, suffix=st.text(max_size=20))
def test_no_jwt_or_webhook_secret_survives_redaction(prefix: str, secret: str, suffix: str) -> None:
    jwt_like = f"eyJ{secret}.{secret}.{secret}"
    webhook = f"whsec_{secret}"

    scrubbed = redact({"message": f"{prefix} {jwt_like} {suffix} {webhook} "})["message"]

    assert jwt_like not in scrubbed
    assert webhook not in scrubbed


@given(
    value=st.recursive(
        st.text() | st.integers() | st.none(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(["password", "token", "name", "Cookie"]), children)
        ),
        max_leaves=10,
    )
)
def test_redaction_never_leaves_a_sensitive_key_unmasked(value: Any) -> None:
    def sensitive_values(node: Any) -> list[Any]:
        if isinstance(node, dict):
            found = [item for key, item in node.items() if key in {"password", "token", "Cookie"}]
            return found + [v for item in node.values() for v in sensitive_values(item)]
        if isinstance(node, list):
            return [v for item in node for v in sensitive_values(item)]
        return []

    assert all(item == REDACTED for item in sensitive_values(redact(value)))


_line_value = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["Bearer abc.def", "bEaReR x", "eyJhbGciOi.x.y", "whsec_abc", "a://u:p@h"]),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=10), max_size=2),
    st.binary(max_size=4),
)


@given(
    line=st.dictionaries(
        st.sampled_from(["event", "request_id", "route", "token", "X-Api-Key", "cache", "n"]),
        _line_value,
        max_size=6,
    )
)
def test_the_processors_shortcut_for_plain_lines_gives_what_redact_gives(
    line: dict[str, Any],
) -> None:
    """`redact_sensitive` returns most lines untouched without walking them; whatever it
    returns must be exactly what the full `redact` gives, secrets and keys included."""
    assert redact_sensitive(None, "info", dict(line)) == redact(dict(line))
