"""Automatic failover drill: pg_auto_failover promotes the standby by itself, the app
follows, and no acknowledged write is lost.

A pg_auto_failover formation (monitor + two nodes, synchronous replication) is made
with `ops/failover/formation.sh` on spare ports. The app runs against it as real child
processes, an API and a worker, with multi-host URLs: the primary pool's carries
`target_session_attrs=read-write`, the replica pool's `prefer-standby`. Then, per
trial, while writers create dealerships (super admin), an uploader posts documents
(dealership admin; the worker ingests them) and a reader lists dealerships, every
process of the primary node is SIGKILLed: its PostgreSQL (postmaster and backends) and
its `pg_autoctl` keeper with its services. Nobody promotes anything by hand. Measured
from the kill:

- detected: the monitor marks the node unhealthy (its health check failed);
- failover: the monitor starts the failover (the standby's goal `prepare_promotion`,
  once the keeper has also been silent for `node_considered_unhealthy_timeout`);
- promoted: the standby accepts writes (polled directly every 50 ms);
- **write**: the first write *sent after the kill* that the app acknowledges — the
  end-to-end time a client waits, detection, promotion and reconnection included.

The killed node's keeper is then started again; it rewinds its PostgreSQL and rejoins
as the synchronous secondary (rejoin), so the next trial kills the other node. Writes go
on throughout; at the end of each trial every acknowledged dealership and document must
be on the primary (0 lost) and every document must become `ready` (the worker followed
the primary too).

Run: `just drill-failover` (`.venv/bin/python -m ops.drills.auto_failover --trials 5`);
it writes `bench/results/<date>-failover.md` and `.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self
from uuid import UUID

import httpx
import psycopg

from ops.drills.app import FAILOVER_DATABASE_ENV
from ops.drills.formation import Event, Formation, Kill
from ops.drills.stack import DealershipAdmin, Stack
from ops.drills.traffic import (
    HTTP_ACCEPTED,
    Traffic,
    dealership_writes,
    document_uploads,
    keep_reading,
    keep_writing,
)
from ops.harness.services import PrivatePgBouncer

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
GOAL_S = 30.0
"""End-to-end write recovery the drill must stay within (each trial)."""


@dataclass(frozen=True)
class TrialResult:
    trial: int
    killed: str
    """The node that was primary and lost every process."""
    processes_killed: int
    synchronous: bool
    """The primary committed through a synchronous standby before the kill."""
    detected_s: float | None
    """Seconds from the kill (as every time below) to the monitor's health check
    marking the node unhealthy."""
    failover_s: float | None
    """To the monitor giving the standby the goal `prepare_promotion`."""
    promoted_s: float | None
    """To the standby accepting writes (polled directly every 50 ms)."""
    write_s: float | None
    """End to end: to the acknowledgement of the first write sent after the kill."""
    rejoin_s: float | None
    """From the killed node's keeper started again to a synchronous secondary."""
    acknowledged: int
    lost: int
    uploads: int
    uploads_lost: int
    uploads_not_ready: int
    write_errors: int
    reads: int
    read_errors: int

    @property
    def passed(self) -> bool:
        return (
            self.synchronous
            and self.lost == 0
            and self.uploads_lost == 0
            and self.uploads_not_ready == 0
            and self.write_s is not None
            and self.write_s <= GOAL_S
        )


def _first(
    events: Sequence[Event], moment: datetime, match: Callable[[Event], bool]
) -> float | None:
    for event in events:
        if match(event):
            return (event.at - moment).total_seconds()
    return None


def _missing(url: str, table: str, ids: list[UUID]) -> int:
    """How many of `ids` the primary behind `url` does not hold in `table`."""
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE id = ANY(%s)",  # noqa: S608 -- our table names
            (ids,),
        ).fetchone()
    return len(set(ids)) - int(row[0] if row else 0)


def _not_ready(url: str, ids: list[UUID], timeout_s: float) -> int:
    """Waits up to `timeout_s` for the documents to be `ready`; answers how many are not."""
    deadline = time.monotonic() + timeout_s
    while True:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FROM documents WHERE id = ANY(%s) AND status = 'ready'", (ids,)
            ).fetchone()
        pending = len(ids) - int(row[0] if row else 0)
        if pending == 0 or time.monotonic() > deadline:
            return pending
        time.sleep(0.5)


PoolerMode = Literal["off", "dies-with-node", "survives"]


@dataclass(frozen=True)
class Options:
    writers: int = 2
    warmup_s: float = 2.0
    settle_s: float = 1.0
    recovery_timeout_s: float = 90.0
    rejoin_last: bool = True
    """Between trials the killed node always rejoins; after the last one if this holds."""
    pgbouncer: PoolerMode = "off"
    """`off`: the app reaches the nodes directly. Otherwise one PgBouncer per node and
    the app's URLs list the PgBouncers; `dies-with-node`: the killed node's PgBouncer
    is killed with it (the whole host is lost); `survives`: only its PostgreSQL and
    keeper die."""


class NodePoolers:
    """One transaction-mode PgBouncer per node, as if each database host ran its own."""

    def __init__(self, formation: Formation, mode: PoolerMode) -> None:
        self.mode = mode
        self.bouncers = {
            name: PrivatePgBouncer("127.0.0.1", port) for name, port in formation.ports.items()
        }

    def start(self) -> Self:
        for bouncer in self.bouncers.values():
            bouncer.start()
        return self

    def url(self, database: str, attrs: str) -> str:
        hosts = ",".join(f"127.0.0.1:{b.port}" for b in self.bouncers.values())
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs={attrs}"

    def node_lost(self, name: str) -> None:
        if self.mode == "dies-with-node":
            self.bouncers[name].kill()

    def node_back(self, name: str) -> None:
        """The host is back: its PgBouncer starts again on the same port."""
        old = self.bouncers[name]
        if old.popen is None or old.popen.poll() is not None:
            old.stop()
            bouncer = PrivatePgBouncer("127.0.0.1", old.server_port, old.port)
            self.bouncers[name] = bouncer.start(server_up=False)

    def stop(self) -> None:
        for bouncer in self.bouncers.values():
            bouncer.stop()


@dataclass(frozen=True)
class _Setup:
    formation: Formation
    base_url: str
    database: str
    super_admin: dict[str, str]
    admin: DealershipAdmin
    poolers: NodePoolers | None


def _kill(setup: _Setup, victim: str) -> Kill:
    kill = setup.formation.kill(victim)
    if setup.poolers is not None:
        setup.poolers.node_lost(victim)
    return kill


def _rejoin(setup: _Setup, victim: str) -> None:
    if setup.poolers is not None:
        setup.poolers.node_back(victim)
    setup.formation.start(victim)
    setup.formation.wait_healthy(180)


async def _trial(trial: int, setup: _Setup, options: Options, *, rejoin: bool) -> TrialResult:
    formation = setup.formation
    victim = await asyncio.to_thread(formation.primary)
    survivor = formation.other(victim)
    synchronous = await asyncio.to_thread(formation.synchronous, victim)
    rows, uploads = Traffic(), Traffic()
    stop = asyncio.Event()
    promoted_at: float | None = None
    rejoin_s: float | None = None
    async with httpx.AsyncClient(base_url=setup.base_url, timeout=10) as client:
        tasks = [
            asyncio.create_task(
                keep_writing(
                    client, dealership_writes(setup.super_admin, f"t{trial}w{n}"), stop, rows
                )
            )
            for n in range(options.writers)
        ]
        tasks.append(
            asyncio.create_task(
                keep_writing(
                    client,
                    document_uploads(setup.admin.headers, f"t{trial}"),
                    stop,
                    uploads,
                    success=HTTP_ACCEPTED,
                    interval_s=0.25,
                )
            )
        )
        tasks.append(asyncio.create_task(keep_reading(client, setup.super_admin, stop, rows)))
        try:
            await asyncio.sleep(options.warmup_s)
            if not rows.acknowledged or not uploads.acknowledged:
                raise RuntimeError(
                    f"writes failed before the kill: {rows.write_errors[-5:]} "
                    f"{uploads.write_errors[-5:]}"
                )
            kill = await asyncio.to_thread(_kill, setup, victim)
            deadline = kill.at + options.recovery_timeout_s
            while time.monotonic() < deadline:
                if promoted_at is None and await asyncio.to_thread(formation.writable, survivor):
                    promoted_at = time.monotonic()
                if promoted_at is not None and rows.acknowledged_since(kill.at):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(options.settle_s)
            if rejoin:
                started = time.monotonic()
                await asyncio.to_thread(_rejoin, setup, victim)
                rejoin_s = time.monotonic() - started
                await asyncio.sleep(options.settle_s)  # writes go on against the healed formation
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    events = await asyncio.to_thread(formation.events_since, kill.wall)
    url = formation.uri(database=setup.database)
    return TrialResult(
        trial=trial,
        killed=victim,
        processes_killed=kill.processes,
        synchronous=synchronous,
        detected_s=_first(
            events,
            kill.wall,
            lambda e: e.node == victim and "marked as unhealthy" in e.description,
        ),
        failover_s=_first(
            events, kill.wall, lambda e: e.node == survivor and e.goal == "prepare_promotion"
        ),
        promoted_s=None if promoted_at is None else promoted_at - kill.at,
        write_s=rows.recovery_s(kill.at),
        rejoin_s=rejoin_s,
        acknowledged=len(rows.acknowledged),
        lost=await asyncio.to_thread(_missing, url, "dealerships", rows.ids()),
        uploads=len(uploads.acknowledged),
        uploads_lost=await asyncio.to_thread(_missing, url, "documents", uploads.ids()),
        uploads_not_ready=await asyncio.to_thread(_not_ready, url, uploads.ids(), 120),
        write_errors=len(rows.write_errors) + len(uploads.write_errors),
        reads=rows.reads,
        read_errors=len(rows.read_errors),
    )


@dataclass
class DrillReport:
    options: Options
    results: list[TrialResult]
    monitor_settings: dict[str, str]
    network_partition_timeout_s: str
    app_settings: dict[str, str]

    def write_times(self) -> list[float]:
        return [r.write_s for r in self.results if r.write_s is not None]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)


def run_drill(
    trials: int,
    workdir: Path,
    options: Options = Options(),
    *,
    on_trial: Callable[[TrialResult], None] | None = None,
    keep_logs: Path | None = None,
) -> DrillReport:
    """Makes a formation and the app on it, runs `trials` kills, removes it all. With
    `keep_logs`, the formation's logs are copied there before it is removed."""
    formation = Formation().up()  # its own directory: the postgres user must reach it
    poolers: NodePoolers | None = None
    try:
        stack = Stack(
            workdir, admin_dsn=formation.uri(database="postgres"), extra_env=FAILOVER_DATABASE_ENV
        )
        with stack:
            database = stack.database.name
            stack.env["AVATARADAM_DATABASE_REPLICA_URL"] = formation.uri(
                "prefer-standby", database=database
            )
            if options.pgbouncer != "off":
                poolers = NodePoolers(formation, options.pgbouncer).start()
                stack.env |= {
                    "AVATARADAM_DATABASE_URL": poolers.url(database, "read-write"),
                    "AVATARADAM_DATABASE_REPLICA_URL": poolers.url(database, "prefer-standby"),
                    "AVATARADAM_DATABASE_STATEMENT_CACHE_SIZE": "0",
                }
            worker = stack.start_worker()  # boots while the API starts
            stack.start_api()
            worker.wait_started()
            setup = _Setup(
                formation,
                stack.base_url,
                database,
                stack.super_admin(),
                stack.new_dealership_admin(),
                poolers,
            )
            report = DrillReport(
                options=options,
                results=[],
                monitor_settings=formation.monitor_settings(),
                network_partition_timeout_s=formation.keeper_setting(
                    "node_1", "timeout.network_partition_timeout"
                ),
                app_settings={
                    key: value
                    for key, value in stack.env.items()
                    if key.startswith("AVATARADAM_DATABASE_")
                },
            )
            for trial in range(1, trials + 1):
                rejoin = options.rejoin_last or trial < trials
                result = asyncio.run(_trial(trial, setup, options, rejoin=rejoin))
                report.results.append(result)
                if on_trial is not None:
                    on_trial(result)
    finally:
        if poolers is not None:
            poolers.stop()
        formation.down(keep_logs)
    return report


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {statistics.median(values):.1f} s, min {min(values):.1f} s, max {max(values):.1f} s"
    )


def render(report: DrillReport) -> str:
    """The trials as a Markdown table and the summary lines."""
    lines = [
        "| trial | killed | procs | sync | detected s | failover s | promoted s "
        "| **write s** | rejoin s | acked | lost | uploads | lost | not ready "
        "| w.err | reads | r.err |",
        "|" + "---|" * 17,
    ]
    lines += [
        f"| {r.trial} | {r.killed} | {r.processes_killed} | {'yes' if r.synchronous else 'NO'} "
        f"| {_seconds(r.detected_s)} | {_seconds(r.failover_s)} | {_seconds(r.promoted_s)} "
        f"| **{_seconds(r.write_s)}** | {_seconds(r.rejoin_s)} | {r.acknowledged} | {r.lost} "
        f"| {r.uploads} | {r.uploads_lost} | {r.uploads_not_ready} | {r.write_errors} "
        f"| {r.reads} | {r.read_errors} |"
        for r in report.results
    ]

    def times(pick: Callable[[TrialResult], float | None]) -> list[float]:
        return [v for v in (pick(r) for r in report.results) if v is not None]

    lines += [
        "",
        f"- end-to-end write recovery (kill → first acknowledged write sent after it): "
        f"{_spread(report.write_times())} (goal ≤ {GOAL_S:.0f} s)",
        f"- detected (health check marks the node unhealthy): "
        f"{_spread(times(lambda r: r.detected_s))}",
        f"- failover started by the monitor: {_spread(times(lambda r: r.failover_s))}",
        f"- standby accepts writes: {_spread(times(lambda r: r.promoted_s))}",
        f"- killed node back as synchronous secondary: {_spread(times(lambda r: r.rejoin_s))}",
        f"- acknowledged writes lost: {sum(r.lost for r in report.results)} of "
        f"{sum(r.acknowledged for r in report.results)} rows, "
        f"{sum(r.uploads_lost for r in report.results)} of "
        f"{sum(r.uploads for r in report.results)} uploads; uploads never ready: "
        f"{sum(r.uploads_not_ready for r in report.results)}",
    ]
    return "\n".join(lines)


def _document(report: DrillReport, command: str) -> dict[str, Any]:
    writes = report.write_times()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        },
        "options": asdict(report.options),
        "goal_s": GOAL_S,
        "passed": report.passed,
        "write_recovery_s": {
            "p50": statistics.median(writes) if writes else None,
            "min": min(writes, default=None),
            "max": max(writes, default=None),
        },
        "monitor_settings": report.monitor_settings,
        "keeper_network_partition_timeout_s": report.network_partition_timeout_s,
        "app_settings": report.app_settings,
        "trials": [asdict(r) | {"passed": r.passed} for r in report.results],
    }


_POOLER_NOTE = {
    "off": "",
    "dies-with-node": (
        "\n\n**PgBouncer in the path**: one transaction-mode PgBouncer per node, the app's "
        "URLs listing the PgBouncers instead of the nodes; the killed node's PgBouncer is "
        "killed with it (the whole host is lost) and started again when the node rejoins."
    ),
    "survives": (
        "\n\n**PgBouncer in the path**: one transaction-mode PgBouncer per node, the app's "
        "URLs listing the PgBouncers instead of the nodes; the killed node's PgBouncer "
        "stays up (only PostgreSQL and its keeper die)."
    ),
}


def _markdown(report: DrillReport, command: str) -> str:
    settings = "\n".join(f"| `{k}` | {v} |" for k, v in report.monitor_settings.items())
    app = "\n".join(f"| `{k}` | `{v}` |" for k, v in report.app_settings.items())
    return f"""# Automatic failover drill — {datetime.now(UTC):%Y-%m-%d}

`{command}` on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end;
other jobs shared the machine). pg_auto_failover (Debian's `pg-auto-failover-cli`,
`postgresql-15-auto-failover`): a monitor and two nodes with synchronous replication
(`synchronous_standby_names = ANY 1 (…)`, `synchronous_commit = on`), made by
`ops/failover/formation.sh`. The app (an API and a worker, real processes) reaches them
through multi-host URLs, `target_session_attrs=read-write` for the primary pool and
`prefer-standby` for the replica pool. Each trial SIGKILLs every process of the primary
node (PostgreSQL and its `pg_autoctl` keeper) while two writers create dealerships, an
uploader posts documents and a reader lists dealerships through the API; nothing is
promoted by hand. Times are seconds from the kill. The killed node then rejoins as the
secondary, so the trials alternate between the nodes.{_POOLER_NOTE[report.options.pgbouncer]}

{render(report)}

Result: **{"passed" if report.passed else "FAILED"}** (every trial: synchronous
before the kill, 0 acknowledged writes lost, every upload ready, write recovery ≤
{GOAL_S:.0f} s).

## Monitor settings (as the monitor ran with them)

| setting | value |
|---|---|
{settings}

Keeper: `timeout.network_partition_timeout = {report.network_partition_timeout_s}` s.

## App settings

| variable | value |
|---|---|
{app}
"""


def write_results(report: DrillReport, command: str, directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y-%m-%d}-failover"
    if report.options.pgbouncer != "off":
        name += f"-pgbouncer-{report.options.pgbouncer}"
    (directory / f"{name}.json").write_text(json.dumps(_document(report, command), indent=2) + "\n")
    path = directory / f"{name}.md"
    path.write_text(_markdown(report, command))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument(
        "--pgbouncer",
        choices=["off", "dies-with-node", "survives"],
        default="off",
        help="one PgBouncer per node in the app's path (see Options.pgbouncer)",
    )
    parser.add_argument("--no-results", action="store_true", help="print only")
    parser.add_argument(
        "--logs", type=Path, help="copy the formation's and the app's logs to this directory"
    )
    args = parser.parse_args(argv)
    command = " ".join(["python -m ops.drills.auto_failover", *(argv or sys.argv[1:])])
    with tempfile.TemporaryDirectory(prefix="avataradam-autofailover-") as workdir:
        try:
            report = run_drill(
                args.trials,
                Path(workdir),
                Options(writers=args.writers, warmup_s=args.warmup_s, pgbouncer=args.pgbouncer),
                on_trial=lambda r: print(f"trial {r.trial}: {r}", flush=True),  # noqa: T201 -- progress
                keep_logs=args.logs,
            )
        finally:
            if args.logs is not None:
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in Path(workdir).glob("*.log"):
                    shutil.copy(log, args.logs / log.name)
    print(render(report))  # noqa: T201 -- the drill's report
    if not args.no_results:
        print(f"written: {write_results(report, command)}")  # noqa: T201
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
