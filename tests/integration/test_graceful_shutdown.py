"""A stop is a graceful shutdown: what is in flight finishes, nothing new gets in.

One trial of each part of `ops/drills/api_sigterm.py` on a stack of its own (fresh
database, private `redis-server`: the shared Redis DB has other workers that would
take the drill's messages).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from avataradam.entrypoints.settings.infrastructure import WorkerSettings
from ops.drills.api_sigterm import (
    GRACE_PERIOD_S,
    SERVERS,
    SLOW_REPLIES,
    WORKER_STOPS,
    run_api_trial,
    run_worker_trial,
)
from ops.drills.stack import Stack, large_text
from tests.conftest import ADMIN_DSN, IN_CI

STREAMS = 4
UPLOADS = 2
DRAIN_TIMEOUT_S = WorkerSettings().drain_timeout_s
SHORT_DRAIN_S = 4.0


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
    # Queued and stalled documents are re-driven only long after an ingestion could
    # end, so `attempts` tells whether the signalled worker finished its message itself.
    env = {
        "AVATARADAM_INGESTION_QUEUED_TIMEOUT_S": "60",
        "AVATARADAM_INGESTION_LEASE_S": "60",
    } | SLOW_REPLIES
    with Stack(tmp_path_factory.mktemp("shutdown"), extra_env=env, admin_dsn=ADMIN_DSN) as built:
        built.start_worker()
        yield built


def _serving(stack: Stack) -> None:
    """The stack's API for the worker trials' uploads: started by the first of them, and
    again after an API trial (which stops the one it signals)."""
    if stack.api is None or not stack.api.running():
        stack.start_api()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "variant",
    # one stop of the worker process alone and one of its group (each signal delivered
    # twice) here; Ctrl-C and a repeated group stop are drill trials (`just test-slow`)
    [
        pytest.param(v, marks=pytest.mark.slow) if v in {"ctrl-c", "twice"} else v
        for v in WORKER_STOPS
    ],
)
def test_worker_stop_finishes_the_running_ingestion_takes_nothing_new_then_exits_zero(
    stack: Stack, variant: str
) -> None:
    """Each way a worker gets stopped: SIGTERM to its main process, to its process group
    (twice delivered), Ctrl-C's SIGINT to the group, a second SIGTERM a second later."""
    _serving(stack)

    result = run_worker_trial(
        1, stack, variant=variant, run_s=0.5, document=lambda: large_text(10_000)
    )

    assert result.stage_at_signal.startswith("processing/"), result
    # the signalled worker's log (a fresh one was started after it) says why it did not
    assert result.exit_code == 0, f"{result}\n{stack.workers[-2].output()[-6000:]}"
    assert result.exit_s is not None
    assert result.exit_s < DRAIN_TIMEOUT_S, result
    assert result.finished_before_exit, f"the message in hand is finished first: {result}"
    assert result.attempts == 1, "finished by the signalled worker, not re-driven"
    assert result.late_status_at_exit == "queued", f"nothing new taken after the signal: {result}"
    assert result.exactly_once, f"a fresh worker made the late document ready: {result}"


@pytest.mark.timeout(120)
def test_worker_ingestion_still_running_at_the_drain_deadline_is_re_enqueued_not_failed(
    stack: Stack,
) -> None:
    _serving(stack)
    stack.workers[-1].stop()
    stack.start_worker(AVATARADAM_WORKER_DRAIN_TIMEOUT_S=str(SHORT_DRAIN_S))

    result = run_worker_trial(
        1, stack, variant="pid", run_s=0.2, document=lambda: large_text(30_000)
    )

    assert result.exit_code == 0, result
    assert result.exit_s is not None
    assert result.exit_s < SHORT_DRAIN_S, result
    assert not result.finished_before_exit, f"too short a drain for this document: {result}"
    assert result.late_status_at_exit == "queued", result
    assert result.exactly_once, f"both ready once through a fresh worker: {result}"
    assert result.attempts == 2, "interrupted once, then finished by the fresh worker"


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
