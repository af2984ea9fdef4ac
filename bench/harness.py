"""The benchmark's shared state: the stack it started, the tenants it seeded, and the
small statistics every phase reports (median with min/max over repetitions)."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from bench.stack import ROOT, BenchDatabase, BenchRedis, Process, Server, base_environment, worker

RESULTS = ROOT / "bench" / "results"
CORPUS = ROOT / "tests" / "data" / "corpus"
PASSWORD = "bench-password-long-enough"
HOST = "127.0.0.1"


def med(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median with min/max of repeated measurements (the run-to-run spread)."""
    vals = [float(v) for v in values]
    if not vals:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": round(med(vals), 4),
        "min": round(min(vals), 4),
        "max": round(max(vals), 4),
        "n": len(vals),
    }


@dataclass
class Account:
    user_id: str
    dealership_id: str | None
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    dealership_id: str
    admin: Account
    user: Account


@dataclass
class Bench:
    quick: bool
    only: str | None
    log_dir: Path
    db: BenchDatabase
    env: dict[str, str]
    container: Container
    processes: list[Process] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    api: Server | None = None
    chosen_server: str = "uvicorn"
    worker: Process | None = None

    def q(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    def start_server(
        self,
        name: str,
        factory: str | None,
        *,
        wait: bool = True,
        environment: Mapping[str, str] | None = None,
        **env: str,
    ) -> Server:
        """`avataradam serve` (or `bench.serve factory`) with the run's environment,
        `environment` and `env` over it; waits for `/health/live` unless `wait` is false."""
        server = Server(name, factory, {**self.env, **(environment or {}), **env}, self.log_dir)
        server.start()
        self.processes.append(server)
        return server.wait_healthy(120) if wait else server

    def start_worker(self, name: str = "worker", nice: int = 0) -> Process:
        process = worker(self.env, self.log_dir, name, nice).start()
        self.processes.append(process)
        self.worker = process
        return process

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)


@asynccontextmanager
async def standalone(prefix: str, env: Mapping[str, str] | None = None) -> AsyncIterator[Bench]:
    """A quick-mode `Bench` on a Redis and a database of its own (production settings
    with `env` over them) and the product's container started, for the single-purpose
    tools (`bench.profiling`, `bench.cpu_split`); on exit every process it started is
    stopped, the container closed, the database dropped and Redis stopped."""
    log_dir = Path(tempfile.mkdtemp(prefix=prefix))
    bench_redis = BenchRedis().start()
    db = BenchDatabase().create()
    settings_env = base_environment(db.url, bench_redis.url) | dict(env or {})
    container = build_container(load_settings(settings_env, env_file=None))
    await container.start()
    b = Bench(quick=True, only=None, log_dir=log_dir, db=db, env=settings_env, container=container)
    try:
        yield b
    finally:
        for process in list(b.processes):
            b.stop(process)
        await container.close()
        db.drop()
        bench_redis.stop()
