"""Failover drill: lose the primary under write and read load, promote the standby.

Each trial builds a fresh primary + synchronous standby (`remote_apply`), starts the
API against both with multi-host URLs, and runs writers (creating dealerships as super
admin, recording every acknowledged id) and a reader (listing dealerships) through the
HTTP API. It then SIGKILLs every process of the primary cluster, promotes the standby
with `pg_ctlcluster … promote` and measures:

- write RTO: from the kill to the first acknowledged write sent after it;
- lost writes: acknowledged ids missing on the new primary (must be 0);
- errors the writers and the reader saw.

Run: `.venv/bin/python -m ops.drills.failover --trials 5` (or `just drill-failover-manual`;
`just drill-failover` is the automatic failover of `ops/drills/auto_failover.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from ops.drills.app import AppProcess, start_app
from ops.drills.pgcluster import ReplicatedPair
from ops.drills.traffic import Traffic, dealership_writes, keep_reading, keep_writing

RTO_LIMIT_S = 30.0


@dataclass(frozen=True)
class TrialResult:
    trial: int
    rto_s: float | None
    acknowledged: int
    lost: int
    write_errors: int
    reads: int
    read_errors: int
    processes_killed: int

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.rto_s is not None and self.rto_s <= RTO_LIMIT_S


async def _load_and_fail_over(
    pair: ReplicatedPair,
    app: AppProcess,
    *,
    warmup_s: float,
    settle_s: float,
    recovery_timeout_s: float,
    writers: int,
) -> tuple[Traffic, float | None, int]:
    headers = await asyncio.to_thread(app.sign_in_super_admin)
    traffic = Traffic()
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=app.base_url, timeout=10) as client:
        tasks = [
            asyncio.create_task(
                keep_writing(client, dealership_writes(headers, f"drill-w{n}"), stop, traffic)
            )
            for n in range(writers)
        ]
        tasks.append(asyncio.create_task(keep_reading(client, headers, stop, traffic)))
        try:
            await asyncio.sleep(warmup_s)
            if not traffic.acknowledged:
                raise RuntimeError(f"no write succeeded before the kill: {traffic.write_errors}")
            killed_at = time.monotonic()
            killed = await asyncio.to_thread(pair.primary.kill_all)
            await asyncio.to_thread(pair.promote_standby)
            deadline = killed_at + recovery_timeout_s
            recovered_at: float | None = None
            while time.monotonic() < deadline:
                if traffic.acknowledged_since(killed_at):
                    recovered_at = time.monotonic()
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(settle_s)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    rto_s = None if recovered_at is None else recovered_at - killed_at
    return traffic, rto_s, killed


def _missing_on(pair: ReplicatedPair, ids: list[UUID]) -> set[UUID]:
    with psycopg.connect(pair.standby.dsn(pair.database), connect_timeout=10) as conn:
        rows = conn.execute("SELECT id FROM dealerships WHERE id = ANY(%s)", (ids,)).fetchall()
    return set(ids) - {row[0] for row in rows}


def run_trial(
    trial: int,
    *,
    redis_url: str,
    workdir: Path,
    warmup_s: float = 2.0,
    settle_s: float = 1.0,
    recovery_timeout_s: float = 60.0,
    writers: int = 2,
) -> TrialResult:
    pair = ReplicatedPair.create(synchronous=True)
    app: AppProcess | None = None
    try:
        apply_migrations(pair.primary.dsn(pair.database))
        app = start_app(pair, redis_url=redis_url, workdir=workdir)
        traffic, rto_s, killed = asyncio.run(
            _load_and_fail_over(
                pair,
                app,
                warmup_s=warmup_s,
                settle_s=settle_s,
                recovery_timeout_s=recovery_timeout_s,
                writers=writers,
            )
        )
        acknowledged = traffic.ids()
        lost = _missing_on(pair, acknowledged)
        return TrialResult(
            trial=trial,
            rto_s=rto_s,
            acknowledged=len(acknowledged),
            lost=len(lost),
            write_errors=len(traffic.write_errors),
            reads=traffic.reads,
            read_errors=len(traffic.read_errors),
            processes_killed=killed,
        )
    finally:
        if app is not None:
            app.stop()
        pair.drop()


def render(results: list[TrialResult]) -> str:
    header = (
        f"{'trial':>5} {'RTO s':>7} {'acked':>6} {'lost':>5} {'w.err':>6} "
        f"{'reads':>6} {'r.err':>6} {'killed':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        rto = f"{r.rto_s:7.2f}" if r.rto_s is not None else "  never"
        lines.append(
            f"{r.trial:>5} {rto} {r.acknowledged:>6} {r.lost:>5} {r.write_errors:>6} "
            f"{r.reads:>6} {r.read_errors:>6} {r.processes_killed:>6}"
        )
    rtos = [r.rto_s for r in results if r.rto_s is not None]
    if rtos:
        lines.append(
            f"write RTO s: min {min(rtos):.2f}  median {statistics.median(rtos):.2f}  "
            f"max {max(rtos):.2f}  (limit {RTO_LIMIT_S:.0f})"
        )
    lines.append(
        f"acknowledged writes lost: {sum(r.lost for r in results)} "
        f"of {sum(r.acknowledged for r in results)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    results: list[TrialResult] = []
    with tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir:
        for trial in range(1, args.trials + 1):
            result = run_trial(
                trial,
                redis_url=args.redis_url,
                workdir=Path(workdir),
                warmup_s=args.warmup_s,
                writers=args.writers,
            )
            results.append(result)
            print(f"trial {trial}: {result}", flush=True)  # noqa: T201 -- progress for the operator
    print(render(results))  # noqa: T201 -- the drill's report
    rtos = [r.rto_s for r in results if r.rto_s is not None]
    ok = (
        all(r.lost == 0 for r in results)
        and len(rtos) == len(results)
        and statistics.median(rtos) <= RTO_LIMIT_S
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
