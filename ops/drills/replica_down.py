"""Replica-stopped drill: SIGKILL the standby while readers hammer the API.

The API's replica URL names the standby alone, so only the app's own routing (replica
down -> read from the primary) keeps reads working. Measures reads and failures before
and after the kill, the time to the first successful read after it, the fallbacks the
app counted (`avataradam_db_replica_fallbacks_total`) and what `/health/ready` says.

Run: `.venv/bin/python -m ops.drills.replica_down --trials 3` (part of `just drill`).
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
from typing import Any

import httpx

from avataradam.adapters.postgres.migrate import apply_migrations
from ops.drills.app import AppProcess, start_app
from ops.drills.pgcluster import ReplicatedPair

HTTP_OK = 200
HTTP_CREATED = 201


@dataclass(frozen=True)
class ReplicaDownResult:
    trial: int
    readers: int
    reads_before: int
    failed_before: int
    reads_after: int
    failed_after: int
    first_success_after_s: float | None
    fallbacks_before: float
    fallbacks_after: float
    ready_before: dict[str, Any]
    ready_after_status: int
    ready_after: dict[str, Any]


def fallbacks(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("avataradam_db_replica_fallbacks_total "):
            return float(line.split()[1])
    return 0.0


async def _read_until(
    client: httpx.AsyncClient, headers: dict[str, str], dealership_id: str, stop: asyncio.Event
) -> list[tuple[float, int]]:
    """(completion time, worst status of a list + a get; 0 for no answer)."""
    outcomes: list[tuple[float, int]] = []
    while not stop.is_set():
        try:
            listed = await client.get("/v1/dealerships", params={"limit": 5}, headers=headers)
            one = await client.get(f"/v1/dealerships/{dealership_id}", headers=headers)
        except httpx.HTTPError:
            outcomes.append((time.monotonic(), 0))
        else:
            outcomes.append((time.monotonic(), max(listed.status_code, one.status_code)))
        await asyncio.sleep(0.01)
    return outcomes


async def _exercise(
    trial: int,
    pair: ReplicatedPair,
    app: AppProcess,
    *,
    readers: int,
    before_s: float,
    after_s: float,
) -> ReplicaDownResult:
    headers = await asyncio.to_thread(app.sign_in_super_admin)
    async with httpx.AsyncClient(base_url=app.base_url, timeout=10) as client:
        created = await client.post("/v1/dealerships", json={"name": "Replica"}, headers=headers)
        if created.status_code != HTTP_CREATED:
            raise RuntimeError(f"could not create a dealership: {created.text}")
        dealership_id = created.json()["id"]
        ready_before = (await client.get("/health/ready")).json()

        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(_read_until(client, headers, dealership_id, stop))
            for _ in range(readers)
        ]
        await asyncio.sleep(before_s)
        fallbacks_before = fallbacks((await client.get("/metrics")).text)
        stopped_at = time.monotonic()
        await asyncio.to_thread(pair.standby.kill_all)
        await asyncio.sleep(after_s)
        stop.set()
        outcomes = [o for task in await asyncio.gather(*tasks) for o in task]
        ready_after = await client.get("/health/ready")
        fallbacks_after = fallbacks((await client.get("/metrics")).text)

    before = [status for done, status in outcomes if done < stopped_at]
    after = [(done, status) for done, status in outcomes if done >= stopped_at]
    successes_after = [done for done, status in after if status == HTTP_OK]
    return ReplicaDownResult(
        trial=trial,
        readers=readers,
        reads_before=len(before),
        failed_before=sum(status != HTTP_OK for status in before),
        reads_after=len(after),
        failed_after=sum(status != HTTP_OK for _, status in after),
        first_success_after_s=min(successes_after) - stopped_at if successes_after else None,
        fallbacks_before=fallbacks_before,
        fallbacks_after=fallbacks_after,
        ready_before=ready_before,
        ready_after_status=ready_after.status_code,
        ready_after=ready_after.json(),
    )


def run_trial(
    trial: int,
    *,
    redis_url: str,
    workdir: Path,
    readers: int = 4,
    before_s: float = 1.0,
    after_s: float = 2.0,
) -> ReplicaDownResult:
    pair = ReplicatedPair.create(synchronous=False)
    app: AppProcess | None = None
    try:
        apply_migrations(pair.primary.dsn(pair.database))
        app = start_app(
            pair,
            redis_url=redis_url,
            workdir=workdir,
            replica_dsn=pair.standby.dsn(pair.database),
        )
        return asyncio.run(
            _exercise(trial, pair, app, readers=readers, before_s=before_s, after_s=after_s)
        )
    finally:
        if app is not None:
            app.stop()
        pair.drop()


def render(results: list[ReplicaDownResult]) -> str:
    header = (
        f"{'trial':>5} {'reads<':>7} {'fail<':>6} {'reads>':>7} {'fail>':>6} "
        f"{'1st ok s':>8} {'fallbk':>7} {'ready':>6} {'replication':>12}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        first = "   never"
        if r.first_success_after_s is not None:
            first = f"{r.first_success_after_s:8.3f}"
        replication = (r.ready_after.get("replication") or {}).get("status", "-")
        lines.append(
            f"{r.trial:>5} {r.reads_before:>7} {r.failed_before:>6} {r.reads_after:>7} "
            f"{r.failed_after:>6} {first} {r.fallbacks_after - r.fallbacks_before:>7.0f} "
            f"{r.ready_after_status:>6} {replication:>12}"
        )
    firsts = [r.first_success_after_s for r in results if r.first_success_after_s is not None]
    if firsts:
        lines.append(
            f"first read after the kill, s: min {min(firsts):.3f}  "
            f"median {statistics.median(firsts):.3f}  max {max(firsts):.3f}"
        )
    lines.append("reads/fails: < before the kill, > after it (in-flight reads may fail)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir:
        results = [
            run_trial(trial, redis_url=args.redis_url, workdir=Path(workdir), readers=args.readers)
            for trial in range(1, args.trials + 1)
        ]
    print(render(results))  # noqa: T201 -- the drill's report
    ok = all(r.failed_after <= r.readers and r.failed_before == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
