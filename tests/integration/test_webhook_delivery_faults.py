"""Webhook delivery through real API and worker processes, one worker per queue (as
`just run` and the systemd units run them), on a database and a Redis of their own.

The cheap versions of `just drill-webhooks`: deliveries whose messages a Redis flush
lost arrive once each; a hung receiver slows neither ingestion nor other receivers; a
`410 Gone` disables its subscription; a rotated secret signs beside the old one; an
HTTPS-only deployment refuses plain-http URLs.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from ops.drills.app import AppProcess
from ops.drills.receivers import Receivers
from ops.drills.stack import (
    DealershipAdmin,
    ReadyWatch,
    Stack,
    WorkerProcess,
    delivery_statuses,
    small_document,
)
from ops.harness.processes import free_port
from tests.conftest import ADMIN_DSN, IN_CI, require_service

CIRCUIT_FAILURES = 2
DELIVERY_ENV = {
    "AVATARADAM_WEBHOOKS_ALLOW_PRIVATE": "true",
    "AVATARADAM_WEBHOOKS_TIMEOUT_S": "3",
    "AVATARADAM_WEBHOOKS_MIN_BACKOFF_MS": "200",
    "AVATARADAM_WEBHOOKS_MAX_BACKOFF_MS": "1000",
    "AVATARADAM_WEBHOOKS_REDRIVE_AFTER_S": "2",
    "AVATARADAM_WEBHOOKS_CIRCUIT_FAILURES": str(CIRCUIT_FAILURES),
    "AVATARADAM_WEBHOOKS_CIRCUIT_COOLDOWN_S": "60",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (the stack's private Redis)"
        if IN_CI:
            pytest.fail(message + ", and CI=true forbids skipping")
        pytest.skip(message)
    workdir = tmp_path_factory.mktemp("webhook-stack")
    with Stack(workdir, extra_env=DELIVERY_ENV, admin_dsn=ADMIN_DSN) as running:
        running.start_api()
        running.start_worker(queues=["ingest"])
        yield running


def _deliverers(stack: Stack) -> list[WorkerProcess]:
    return [w for w in stack.workers if w.queues == ("webhooks",) and w.running()]


@pytest.fixture
def deliverer(stack: Stack) -> WorkerProcess:
    """The stack's webhooks worker, started by the first test that needs it."""
    running = _deliverers(stack)
    return running[0] if running else stack.start_worker(queues=["webhooks"])


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    with Receivers() as running:
        yield running


def _eventually(check: object, timeout_s: float = 30) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert check()


def _ingestion_latencies(stack: Stack, admin: DealershipAdmin, count: int, tag: str) -> list[float]:
    """Upload `count` small documents 0.3 s apart; seconds from each 202 to `ready`."""
    uploaded: dict[str, float] = {}
    with ReadyWatch(stack.database.url) as watch:
        for n in range(count):
            content, filename = small_document(f"{tag}-{n}")
            started = time.monotonic()
            document_id = stack.upload(admin, content, filename, "compliance")
            watch.watch(document_id)
            uploaded[document_id] = started
            time.sleep(0.3)
        ready = watch.wait(list(uploaded), timeout_s=60)
    assert len(ready) == count, "every upload becomes ready"
    return [ready[i] - uploaded[i] for i in uploaded]


def test_deliveries_whose_messages_a_redis_flush_lost_arrive_once_each(
    stack: Stack, receivers: Receivers
) -> None:
    admin = stack.new_dealership_admin()
    url = receivers.url("ok", "after-flush")
    subscription = stack.subscribe(admin, url)
    for deliverer in _deliverers(stack):
        deliverer.kill_group()  # kill -9: nothing is acked or cleaned up
    documents = [stack.upload(admin, *small_document(f"flush-{n}"), "compliance") for n in range(3)]
    _eventually(
        lambda: delivery_statuses(stack.database.url, [subscription["id"]]) == {"pending": 3}
    )

    stack.redis.flushdb()
    stack.start_worker(queues=["webhooks"])

    receivers.wait_for(url, 3, timeout_s=30)
    _eventually(
        lambda: delivery_statuses(stack.database.url, [subscription["id"]]) == {"delivered": 3}
    )
    time.sleep(1.5)  # a re-driven duplicate would arrive now
    assert sorted(receivers.ids(url).values()) == [1, 1, 1], "each acknowledged delivery once"
    events = {Webhook(subscription["secret"]).verify(r.body, r.headers)["data"]["document_id"]
              for r in receivers.of(url)}  # fmt: skip
    assert events == set(documents)


@pytest.mark.usefixtures("deliverer")
def test_a_hung_receiver_slows_neither_ingestion_nor_other_receivers(
    stack: Stack, receivers: Receivers
) -> None:
    hung_admin, neighbour_admin = stack.new_dealership_admin(), stack.new_dealership_admin()
    baseline = _ingestion_latencies(stack, hung_admin, 3, "baseline")
    hung_url = receivers.url("hang", "hung")
    hung = stack.subscribe(hung_admin, hung_url)
    neighbour_url = receivers.url("ok", "neighbour")
    stack.subscribe(neighbour_admin, neighbour_url)

    during = _ingestion_latencies(stack, hung_admin, 6, "hung")
    neighbour_started = time.monotonic()
    _ingestion_latencies(stack, neighbour_admin, 2, "neighbour")
    received = receivers.wait_for(neighbour_url, 2, timeout_s=20)

    band = max(3 * max(baseline), max(baseline) + 2.0)
    assert max(during) <= band, (
        f"ingestion with a hung receiver {during} vs. without {baseline}: "
        f"median {statistics.median(during):.2f} s"
    )
    assert len({r.webhook_id for r in received}) == 2, "the neighbour gets its events"
    assert max(r.at for r in received) - neighbour_started < 15
    assert 1 <= len(receivers.of(hung_url)) <= 2 * CIRCUIT_FAILURES, "the circuit stops calls"
    assert stack.webhook(hung_admin, hung["id"])["subscription"]["circuit_open_until"]


@pytest.mark.usefixtures("deliverer")
def test_a_receiver_answering_410_gone_disables_its_subscription(
    stack: Stack, receivers: Receivers
) -> None:
    admin = stack.new_dealership_admin()
    url = receivers.url("gone", "retired")
    subscription = stack.subscribe(admin, url)

    stack.upload(admin, *small_document("gone-1"), "compliance")
    _eventually(lambda: not stack.webhook(admin, subscription["id"])["subscription"]["active"])
    stack.upload(admin, *small_document("gone-2"), "compliance")
    time.sleep(2)  # time for a second event (there must be none) to arrive

    detail = stack.webhook(admin, subscription["id"])
    assert detail["subscription"]["disabled_reason"] == "receiver answered 410 Gone"
    log = {d["event_type"]: d for d in detail["deliveries"]}
    assert log["subscription.disabled"]["last_status_code"] == 410
    assert log["document.ready"]["status"] == "failed"
    assert len(receivers.of(url)) == 1, "no retry, and nothing after the 410"


@pytest.mark.usefixtures("deliverer")
def test_a_rotated_secret_signs_beside_the_old_one(stack: Stack, receivers: Receivers) -> None:
    admin = stack.new_dealership_admin()
    url = receivers.url("ok", "rotating")
    subscription = stack.subscribe(admin, url)
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        rotated = http.post(
            f"/v1/webhooks/{subscription['id']}/rotate-secret", headers=admin.headers
        )
        foreign = http.post(
            f"/v1/webhooks/{subscription['id']}/rotate-secret",
            headers=stack.new_dealership_admin().headers,
        )
    assert rotated.status_code == 200, rotated.text
    assert foreign.status_code == 404
    new_secret = rotated.json()["secret"]
    assert new_secret != subscription["secret"]
    assert rotated.json()["previous_secret_expires_at"]

    stack.upload(admin, *small_document("rotation"), "compliance")
    [delivery] = receivers.wait_for(url, 1, timeout_s=30)

    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    for secret in (subscription["secret"], new_secret):
        assert Webhook(secret).verify(delivery.body, delivery.headers)["type"] == "document.ready"


def test_an_https_only_deployment_refuses_plain_http_urls(stack: Stack, tmp_path: Path) -> None:
    admin = stack.new_dealership_admin()
    port = free_port()
    api = AppProcess(
        stack.env | {"AVATARADAM_HTTP_PORT": str(port), "AVATARADAM_WEBHOOKS_HTTPS_ONLY": "true"},
        tmp_path / "https-only-api.log",
    )
    api.start()
    try:
        with httpx.Client(base_url=api.base_url, timeout=30) as http:
            plain = http.post(
                "/v1/webhooks",
                json={"url": "http://hooks.example.com/adam", "events": ["document.ready"]},
                headers=admin.headers,
            )
            secure = http.post(
                "/v1/webhooks",
                json={"url": "https://hooks.example.com/adam", "events": ["document.ready"]},
                headers=admin.headers,
            )
    finally:
        api.stop()
    assert plain.status_code == 422, plain.text
    assert plain.json()["code"] == "invalid_input"
    assert "https" in plain.json()["detail"]
    assert secure.status_code == 201, secure.text
