"""SIGTERM is a graceful shutdown: what is in flight finishes, nothing new gets in.

One trial of each part of `ops/drills/api_sigterm.py` on a stack of its own (fresh
database, private `redis-server`: the shared Redis DB has other workers that would
take the drill's messages).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from ops.drills.api_sigterm import (
    GRACE_PERIOD_S,
    SERVERS,
    SLOW_REPLIES,
    run_api_trial,
    run_worker_trial,
)
from ops.drills.stack import Stack, large_text

from tests.conftest import ADMIN_DSN, IN_CI

STREAMS = 4
UPLOADS = 2


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Asks for `database_url` and `redis_url` for their skip-or-fail when the services
    are absent; the stack itself uses a database and a Redis server of its own."""
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed, and CI=true forbids skipping")
        pytest.skip("needs redis-server for a private Redis")
    # Stalled documents are re-driven only long after an ingestion could end, so
    # `attempts` tells whether the signalled worker finished its message itself.
    env = {"AVATARADAM_INGESTION_STALLED_TIMEOUT_S": "60"} | SLOW_REPLIES
    with Stack(tmp_path_factory.mktemp("shutdown"), extra_env=env, admin_dsn=ADMIN_DSN) as built:
        built.start_worker()
        yield built


@pytest.mark.timeout(60)
def test_worker_sigterm_finishes_the_running_ingestion_then_exits_zero(stack: Stack) -> None:
    stack.start_api()

    result = run_worker_trial(1, stack, variant="pid", run_s=0.5, document=large_text)

    assert result.stage_at_signal.startswith("processing/"), result
    assert result.exit_code == 0, result
    assert result.finished_before_exit, f"the message in hand is finished first: {result}"
    assert result.attempts == 1, "finished by the signalled worker, not re-driven"
    assert result.exactly_once, result


@pytest.mark.timeout(60)
@pytest.mark.parametrize("server", SERVERS)
def test_api_sigterm_finishes_in_flight_replies_and_uploads_refuses_new_ones_exits_zero(
    stack: Stack, server: str
) -> None:
    result = run_api_trial(1, stack, server=server, streams=STREAMS, uploads=UPLOADS)

    assert result.streams_completed == STREAMS, result
    assert result.replies_stored == STREAMS, "every reply in flight is stored"
    assert result.uploads_accepted == UPLOADS, result
    assert result.uploads_ready == UPLOADS, "every acknowledged upload is ingested"
    assert result.refused > 0, "new connections are refused while the replies finish"
    assert result.late_served == 0, f"no new request served after the signal: {result}"
    assert result.exit_code == 0
    assert result.exit_s is not None
    # The replies still had seconds to stream at the signal: the server waited for them.
    assert 1.0 < result.exit_s < GRACE_PERIOD_S
