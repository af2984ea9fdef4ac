"""Webhook-delivery loss: Redis loses every delivery message, yet each event reaches
each receiver exactly once per acknowledgement.

The stack runs an API, an ingestion worker and a webhooks worker, each dealership with
two acknowledging receivers. Each trial uploads documents, waits until their
`document.ready` deliveries are recorded in PostgreSQL, and then, before the webhooks
worker has sent them all:

- `flush`: kills the webhooks worker (SIGKILL), FLUSHDB, starts a new one;
- `restart`: kills the webhooks worker, SHUTDOWN NOSAVE of Redis, a new empty server
  after `--down-s`, a new webhooks worker.

Measured from the receivers and PostgreSQL: deliveries lost (not received or not
`delivered` in time; must be 0), deliveries received more than once although
acknowledged (must be 0), and the time from the fault until the last arrived.

Run: `.venv/bin/python -m ops.drills.webhook_loss --trials 3` (`just drill-webhooks`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ops.drills.receivers import Receivers
from ops.drills.stack import Stack, WorkerProcess, delivery_statuses, small_document, summary

MODES = ("flush", "restart")
DOCUMENTS = 5
SETTLE_TIMEOUT_S = 120.0
DRILL_ENV = {
    "AVATARADAM_WEBHOOKS_ALLOW_PRIVATE": "true",
    "AVATARADAM_WEBHOOKS_REDRIVE_AFTER_S": "5",
    "AVATARADAM_WEBHOOKS_MIN_BACKOFF_MS": "500",
    "AVATARADAM_WEBHOOKS_MAX_BACKOFF_MS": "5000",
}


@dataclass(frozen=True)
class WebhookLossResult:
    trial: int
    mode: str
    pending_at_fault: int
    deliveries: int
    lost: int
    duplicates: int
    completion_s: float | None

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicates == 0


def _webhooks_worker(stack: Stack) -> WorkerProcess:
    return stack.start_worker(queues=["webhooks"])


def run_trial(
    trial: int, stack: Stack, receivers: Receivers, *, mode: str, down_s: float
) -> WebhookLossResult:
    admin = stack.new_dealership_admin()
    urls = [receivers.url("ok", f"t{trial}-{n}") for n in range(2)]
    subscriptions = [str(stack.subscribe(admin, url)["id"]) for url in urls]
    for worker in stack.workers:
        if worker.queues == ("webhooks",) and worker.running():
            worker.kill_group()
    for n in range(DOCUMENTS):
        stack.upload(admin, *small_document(f"w{trial}-{n}"), "compliance")
    expected = DOCUMENTS * len(urls)
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while delivery_statuses(stack.database.url, subscriptions).get("pending", 0) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError("the deliveries were never recorded")
        time.sleep(0.1)
    pending = delivery_statuses(stack.database.url, subscriptions).get("pending", 0)
    faulted_at = time.monotonic()
    if mode == "flush":
        stack.redis.flushdb()
    else:
        stack.redis.shutdown_nosave()
        time.sleep(down_s)
        stack.redis.start()
    _webhooks_worker(stack)
    while time.monotonic() < faulted_at + SETTLE_TIMEOUT_S:
        statuses = delivery_statuses(stack.database.url, subscriptions)
        if statuses.get("delivered", 0) == expected:
            break
        time.sleep(0.2)
    time.sleep(3.0)  # a duplicate would arrive now
    counts = [receivers.ids(url) for url in urls]
    arrivals = [r.at for url in urls for r in receivers.of(url)]
    received = sum(len(c) for c in counts)
    delivered = delivery_statuses(stack.database.url, subscriptions).get("delivered", 0)
    return WebhookLossResult(
        trial=trial,
        mode=mode,
        pending_at_fault=pending,
        deliveries=expected,
        lost=expected - min(received, delivered),
        duplicates=sum(n - 1 for c in counts for n in c.values()),
        completion_s=max(arrivals) - faulted_at if received == expected else None,
    )


def render(results: list[WebhookLossResult]) -> str:
    header = (
        f"{'trial':>5} {'mode':>8} {'pending':>8} {'deliv.':>7} {'lost':>5} "
        f"{'dups':>5} {'done s':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        done = f"{r.completion_s:7.2f}" if r.completion_s is not None else "  never"
        lines.append(
            f"{r.trial:>5} {r.mode:>8} {r.pending_at_fault:>8} {r.deliveries:>7} "
            f"{r.lost:>5} {r.duplicates:>5} {done}"
        )
    for mode in MODES:
        times = [r.completion_s for r in results if r.mode == mode and r.completion_s is not None]
        lines.append(f"{mode}: fault -> every delivery acknowledged: {summary(times)}")
    lines.append(
        f"deliveries lost: {sum(r.lost for r in results)} of "
        f"{sum(r.deliveries for r in results)}; acknowledged deliveries received twice: "
        f"{sum(r.duplicates for r in results)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per mode")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--down-s", type=float, default=2.0)
    args = parser.parse_args(argv)
    results: list[WebhookLossResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir,
        Stack(Path(workdir), extra_env=DRILL_ENV) as stack,
        Receivers() as receivers,
    ):
        stack.start_api()
        stack.start_worker(queues=["ingest"])
        trial = 0
        for mode in args.modes:
            for _ in range(args.trials):
                trial += 1
                result = run_trial(trial, stack, receivers, mode=mode, down_s=args.down_s)
                results.append(result)
                print(f"trial {trial}: {result}", flush=True)  # noqa: T201 -- operator progress
    print(render(results))  # noqa: T201 -- the drill's report
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
