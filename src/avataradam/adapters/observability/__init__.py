"""The observability adapters: Prometheus metrics (and their multi-process mode),
OpenTelemetry traces, and the `Telemetry` port they implement together. Nothing here is
created at import time."""
