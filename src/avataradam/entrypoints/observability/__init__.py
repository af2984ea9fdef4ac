"""Observability of the processes, wired in by the entrypoints: structured logs (their
configuration and redaction) and the ASGI middleware that ties logs, metrics and traces
to HTTP requests. The metrics and tracing adapters live in adapters/observability/."""
