"""Observability building blocks wired in by the composition root: structured logs,
Prometheus metrics, OpenTelemetry traces and the ASGI middleware that ties them to
HTTP requests. Nothing here is created at import time."""
