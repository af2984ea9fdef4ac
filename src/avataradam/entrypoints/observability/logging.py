"""Structured logging: one JSON object per line on stdout, secrets never included.

Every record, whether it comes from structlog or from a standard-library logger
(dramatiq, uvicorn, granian, asyncpg, litestar), goes through the same processor chain,
so a log line always carries `timestamp` (ISO 8601, UTC), `level`, `service`, `event`,
the request context bound with `bind_request_context` and, inside a recording
OpenTelemetry span, `trace_id`/`span_id`. Redaction is the last step before rendering,
so no processor added earlier can reintroduce a secret.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from typing import Literal, TextIO

import msgspec
import structlog
from opentelemetry import trace
from structlog.types import EventDict, Processor, WrappedLogger

from avataradam.entrypoints.observability.redaction import redact_sensitive

LOGGERS_ROUTED_TO_ROOT: tuple[str, ...] = (
    "uvicorn",
    "uvicorn.error",
    "granian",
    "_granian",
    "dramatiq",
    "asyncpg",
    "litestar",
    "httpx",
)
"""Libraries that install their own handlers; theirs are removed so each record is
rendered once, by ours."""

SERVER_ACCESS_LOGGERS: tuple[str, ...] = ("uvicorn.access", "granian.access")
"""The servers' own access lines, switched off: the `http_request` event (route template,
status, duration, user and dealership) is the access log, written once per request."""

_REQUEST_CONTEXT_KEYS = ("request_id", "user_id", "dealership_id")


def add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Adds `trace_id`/`span_id` (hex, as in W3C traceparent) of the recording span."""
    span = trace.get_current_span()
    if span.is_recording():
        context = span.get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = format(context.trace_id, "032x")
            event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


_LEADING_FIELDS = ("timestamp", "level", "service", "event")


def _leading_fields_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Puts the fields a reader scans for at the start of the line."""
    ordered: EventDict = {key: event_dict[key] for key in _LEADING_FIELDS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _service_adder(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


_WRITE_LOCK = threading.RLock()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is at emit time (survives stream swaps in tests
    and `contextlib.redirect_stdout`), and marks the handler as ours for idempotence."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """`StreamHandler.__init__` assigns a stream; we always use the current stdout."""

    def createLock(self) -> None:  # noqa: N802 -- logging.Handler's name
        self.lock = _WRITE_LOCK


class StdoutLogger:
    """structlog's output for our own events: one rendered line per call, written to
    whatever `sys.stdout` is at that moment (like `_StdoutHandler`) and flushed, under
    the same lock as the standard-library records so lines never interleave."""

    def __init__(self, name: str | None = None, *_: object) -> None:
        self.name = name or "avataradam"

    def msg(self, message: str) -> None:
        with _WRITE_LOCK:
            stream = sys.stdout
            stream.write(message + "\n")
            stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _shared_processors(service: str) -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _service_adder(service),
        add_trace_context,
    ]


def _json_fallback(value: object) -> str:
    return repr(value)


_json_encoder = msgspec.json.Encoder(enc_hook=_json_fallback)


def _dumps(event_dict: object, **_: object) -> str:
    """msgspec's encoder, several times the standard library's; anything it cannot
    encode natively (keys included) is logged as its `repr`, as structlog's own
    renderer does."""
    return _json_encoder.encode(event_dict).decode()


def _renderer_chain(fmt: Literal["json", "console"]) -> list[Processor]:
    if fmt == "json":
        return [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            redact_sensitive,
            _leading_fields_first,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    return [
        structlog.processors.format_exc_info,
        redact_sensitive,
        structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty()),
    ]


def configure_logging(
    *, service: str, level: str, fmt: Literal["json", "console"] = "json"
) -> None:
    """Installs the pipeline on the root logger and structlog. Calling it again replaces
    the previous configuration instead of adding a second handler.

    Loggers are not cached on first use, so a later call (another level or format)
    also reaches loggers that modules obtained earlier with `structlog.get_logger()`.
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")

    shared = _shared_processors(service)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.PositionalArgumentsFormatter()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer_chain(fmt),
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        # Ours from an earlier call, and the bare stream handlers of basicConfig-style
        # setups (dramatiq's CLI); test harness handlers (subclasses) are kept.
        if isinstance(existing, _StdoutHandler) or type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    for name in SERVER_ACCESS_LOGGERS:
        access_logger = logging.getLogger(name)
        access_logger.handlers.clear()
        access_logger.disabled = True

    for name in LOGGERS_ROUTED_TO_ROOT:
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True
        # A dictConfig elsewhere in the process (a library's own logging setup) may
        # have disabled or filtered them; the root's level decides from here on.
        library_logger.disabled = False
        library_logger.setLevel(logging.NOTSET)

    # Our own events skip the standard library: a LogRecord, a handler lock and a
    # formatter pass cost more than the rest of the line, and two lines (access log and
    # the use case's event) are written per request. Same processors, same stdout.
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            *_renderer_chain(fmt),
        ],
        logger_factory=StdoutLogger,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        context_class=dict,
        cache_logger_on_first_use=False,
    )


def reset_logging() -> None:
    """Undoes `configure_logging`: removes our handler and restores structlog's
    defaults. For tests and for embedding the package in a host that owns logging."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, _StdoutHandler):
            root.removeHandler(existing)
    root.setLevel(logging.WARNING)
    for name in SERVER_ACCESS_LOGGERS:
        logging.getLogger(name).disabled = False
    structlog.reset_defaults()


def bind_request_context(
    *,
    request_id: str | None = None,
    user_id: object | None = None,
    dealership_id: object | None = None,
) -> None:
    """Binds the correlation fields for the current task; `None` leaves a field as is.
    Ids are logged as strings so UUIDs render identically everywhere."""
    values: MutableMapping[str, str] = {}
    for key, value in (
        ("request_id", request_id),
        ("user_id", user_id),
        ("dealership_id", dealership_id),
    ):
        if value is not None:
            values[key] = str(value)
    if values:
        structlog.contextvars.bind_contextvars(**values)


def clear_request_context() -> None:
    """Forgets the correlation fields (other bound context is kept)."""
    structlog.contextvars.unbind_contextvars(*_REQUEST_CONTEXT_KEYS)
