"""Redis loss mid-ingestion: every queued message gone, yet every document ready once.

The stack's Redis is a private `redis-server` without persistence (never the machine's
shared one). Each trial uploads, into a dealership of its own, a large document and
several small ones behind it, waits until the large one is `processing`, then either

- `flush`: FLUSHDB on the drill's Redis database (the queue, delayed retries and the
  in-flight message's ack bookkeeping are gone; the worker keeps running), or
- `restart`: SHUTDOWN NOSAVE, an upload while Redis is down, and a start of a new,
  empty server on the same port after `--down-s` (API and worker must reconnect).

Measured from PostgreSQL: lost documents (not `ready` in time; must be 0), duplicate
chunk/vector rows (must be 0), time from the fault until all are ready, uploads
accepted while Redis was down, and whether the worker process survived.

Run: `.venv/bin/python -m ops.drills.redis_loss --trials 3` (part of `just drill`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ops.drills.stack import (
    HTTP_ACCEPTED,
    DealershipAdmin,
    Stack,
    large_pdf,
    large_text,
    small_document,
    summary,
)

SETTLE_TIMEOUT_S = 180.0
SMALL_DOCUMENTS = 6
MODES = ("flush", "restart")


@dataclass(frozen=True)
class RedisLossResult:
    trial: int
    mode: str
    stage_at_fault: str
    documents: int
    lost: int
    duplicates: int
    completion_s: float | None
    uploads_while_down: int
    accepted_while_down: int
    worker_survived: bool

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.accepted_while_down == self.uploads_while_down
        )


def _upload_while_down(stack: Stack, admin: DealershipAdmin, tag: str) -> str | None:
    content, filename = small_document(f"{tag}-while-down")
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        response = http.post(
            "/v1/documents",
            files={"file": (filename, content, "application/octet-stream")},
            data={"topic": "compliance"},
            headers=admin.headers,
        )
    return str(response.json()["id"]) if response.status_code == HTTP_ACCEPTED else None


def run_trial(trial: int, stack: Stack, *, mode: str, down_s: float) -> RedisLossResult:
    admin = stack.new_dealership_admin()
    large, name = large_pdf() if trial % 2 else large_text()
    ids = [stack.upload(admin, large, name, "books")]
    for n in range(SMALL_DOCUMENTS):
        content, filename = small_document(f"r{trial}-{n}")
        ids.append(stack.upload(admin, content, filename, "product_knowledge"))
    stack.wait_until_processing(admin, ids[0])
    stage = stack.database.stored(ids[0])
    faulted_at = time.monotonic()
    uploads_while_down = accepted_while_down = 0
    if mode == "flush":
        stack.redis.flushdb()
    else:
        stack.redis.shutdown_nosave()
        uploads_while_down = 1
        during = _upload_while_down(stack, admin, f"r{trial}")
        if during is not None:
            accepted_while_down = 1
            ids.append(during)
        time.sleep(max(0.0, down_s - (time.monotonic() - faulted_at)))
        stack.redis.start()
    outcome = stack.outcome(ids, SETTLE_TIMEOUT_S, since=faulted_at)
    return RedisLossResult(
        trial=trial,
        mode=mode,
        stage_at_fault=f"{stage.status}/{stage.stage or '-'}",
        documents=len(ids),
        lost=outcome.lost,
        duplicates=outcome.duplicates,
        completion_s=outcome.completion_s,
        uploads_while_down=uploads_while_down,
        accepted_while_down=accepted_while_down,
        worker_survived=stack.workers[-1].running(),
    )


def render(results: list[RedisLossResult]) -> str:
    header = (
        f"{'trial':>5} {'mode':>8} {'stage at fault':>22} {'docs':>5} {'lost':>5} "
        f"{'dups':>5} {'done s':>7} {'up.down':>8} {'worker':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        done = f"{r.completion_s:7.2f}" if r.completion_s is not None else "  never"
        down = f"{r.accepted_while_down}/{r.uploads_while_down}" if r.uploads_while_down else "-"
        lines.append(
            f"{r.trial:>5} {r.mode:>8} {r.stage_at_fault:>22} {r.documents:>5} {r.lost:>5} "
            f"{r.duplicates:>5} {done} {down:>8} {'alive' if r.worker_survived else 'exited':>7}"
        )
    for mode in MODES:
        times = [r.completion_s for r in results if r.mode == mode and r.completion_s is not None]
        lines.append(f"{mode}: fault -> all documents ready: {summary(times)}")
    lines.append(
        f"documents lost: {sum(r.lost for r in results)} of {sum(r.documents for r in results)}; "
        f"duplicate chunk/vector rows: {sum(r.duplicates for r in results)}; "
        "up.down = uploads accepted/sent while Redis was down"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per mode")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--down-s", type=float, default=2.0)
    parser.add_argument("--lease-s", type=float, default=20.0)
    args = parser.parse_args(argv)
    lease = {"AVATARADAM_INGESTION_LEASE_S": str(args.lease_s)}
    results: list[RedisLossResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir,
        Stack(Path(workdir), extra_env=lease) as stack,
    ):
        stack.start_api()
        stack.start_worker()
        trial = 0
        for mode in args.modes:
            for _ in range(args.trials):
                trial += 1
                result = run_trial(trial, stack, mode=mode, down_s=args.down_s)
                results.append(result)
                print(f"trial {trial}: {result}", flush=True)  # noqa: T201 -- operator progress
                if not stack.workers[-1].running():
                    stack.start_worker()
    print(render(results))  # noqa: T201 -- the drill's report
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
