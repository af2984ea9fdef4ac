"""Test helpers around the drill's throwaway primary/standby clusters (ops/drills)."""

from __future__ import annotations

import pytest

from ops.drills.pgcluster import tools_available
from tests.conftest import IN_CI


def require_cluster_tools() -> None:
    """Skips locally, fails under CI=true, when clusters cannot be made here."""
    if tools_available():
        return
    message = "needs Debian's pg_createcluster/pg_basebackup and root"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true forbids skipping")
    pytest.skip(message)
