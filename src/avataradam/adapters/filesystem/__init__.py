"""Local filesystem adapters (single-host deployments)."""
