"""A real S3 protocol server for the tests: moto's standalone server, one process per
session (helpers that look into its buckets: tests/support/s3_objects.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.harness.services import PrivateS3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[PrivateS3]:
    """`moto_server` on a free port for the whole session, stopped afterwards."""
    server = PrivateS3().start()
    try:
        yield server
    finally:
        server.stop()
