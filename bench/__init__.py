"""Benchmark harness: `just bench` (see bench/README.md). Not part of the product."""
