"""Test helpers around the drills' throwaway PostgreSQL clusters (ops/drills)."""

from __future__ import annotations

import pytest

from ops.drills import formation
from ops.drills.pgcluster import tools_available
from tests.conftest import IN_CI


def _require(available: bool, message: str) -> None:
    """Skips locally, fails under CI=true, when clusters cannot be made here."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{message}, and CI=true forbids skipping")
    pytest.skip(message)


def require_cluster_tools() -> None:
    _require(tools_available(), "needs Debian's pg_createcluster/pg_basebackup and root")


def require_failover_tools() -> None:
    _require(
        formation.tools_available(),
        "needs Debian's PostgreSQL, root, and pg_auto_failover or apt-get to install it",
    )


def require_alerting_tools() -> None:
    from ops.drills.alerting import tools_missing  # noqa: PLC0415 -- only these tests need it

    missing = tools_missing()
    _require(not missing, f"needs Debian's {', '.join(missing)} (`just setup-alerting`)")
