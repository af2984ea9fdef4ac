"""Failover drill: lose the primary under write and read load, promote the standby.

Each trial builds a fresh primary + synchronous standby (`remote_apply`), starts the
API against both with multi-host URLs, and runs writers (creating dealerships as super
admin, recording every acknowledged id) and a reader (listing dealerships) through the
HTTP API. It then SIGKILLs every process of the primary cluster, promotes the standby
with `pg_ctlcluster … promote` and measures:

- write RTO: from the kill to the first acknowledged write sent after it;
- lost writes: acknowledged ids missing on the new primary (must be 0);
- errors the writers and the reader saw.

Run: `.venv/bin/python -m ops.drills.failover --trials 5` (or `just drill-failover`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
import psycopg

from avataradam.adapters.postgres.migrate import apply_migrations
from ops.drills.app import AppProcess, start_app
from ops.drills.pgcluster import ReplicatedPair

RTO_LIMIT_S = 30.0
HTTP_CREATED = 201
HTTP_OK = 200


@dataclass
class Traffic:
    acknowledged: list[tuple[float, UUID]] = field(default_factory=list)
    write_errors: list[tuple[float, str]] = field(default_factory=list)
    reads: int = 0
    read_errors: list[tuple[float, str]] = field(default_factory=list)


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


async def _writer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stop: asyncio.Event,
    traffic: Traffic,
    tag: str,
) -> None:
    sequence = 0
    while not stop.is_set():
        sent = time.monotonic()
        sequence += 1
        try:
            response = await client.post(
                "/v1/dealerships", json={"name": f"{tag}-{sequence}"}, headers=headers
            )
        except httpx.HTTPError as exc:
            traffic.write_errors.append((sent, type(exc).__name__))
        else:
            if response.status_code == HTTP_CREATED:
                traffic.acknowledged.append((sent, UUID(response.json()["id"])))
                continue
            traffic.write_errors.append((sent, str(response.status_code)))
        await asyncio.sleep(0.02)


async def _reader(
    client: httpx.AsyncClient, headers: dict[str, str], stop: asyncio.Event, traffic: Traffic
) -> None:
    while not stop.is_set():
        sent = time.monotonic()
        try:
            response = await client.get("/v1/dealerships", params={"limit": 5}, headers=headers)
        except httpx.HTTPError as exc:
            traffic.read_errors.append((sent, type(exc).__name__))
        else:
            traffic.reads += 1
            if response.status_code != HTTP_OK:
                traffic.read_errors.append((sent, str(response.status_code)))
        await asyncio.sleep(0.01)


def _acknowledged_since(traffic: Traffic, moment: float) -> bool:
    """Whether a write sent at or after `moment` has been acknowledged (acks are
    recorded on completion, so the first time this holds is the recovery time)."""
    return any(sent >= moment for sent, _ in reversed(traffic.acknowledged))


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
            asyncio.create_task(_writer(client, headers, stop, traffic, f"drill-w{n}"))
            for n in range(writers)
        ]
        tasks.append(asyncio.create_task(_reader(client, headers, stop, traffic)))
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
                if _acknowledged_since(traffic, killed_at):
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
        acknowledged = [ident for _, ident in traffic.acknowledged]
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
