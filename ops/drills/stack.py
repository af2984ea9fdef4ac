"""The application stack of the ingestion and shutdown drills, built fresh per run.

A new database on the machine's PostgreSQL (migrated, dropped at the end), a private
`redis-server` on a spare port (never the shared one: other suites flush and consume
it, and the Redis drill restarts its server), API and worker child processes in their
own sessions, signalled by their own pids only, and dealership accounts made through
the CLI and the HTTP API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import psycopg

from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import Settings, load_settings
from ops.drills.app import PASSWORD, AppProcess
from ops.harness.environment import FAST_RECONCILE, local_environment
from ops.harness.processes import ChildProcess, cli, free_port
from ops.harness.services import ADMIN_DSN, FreshDatabase, PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"

HTTP_OK, HTTP_CREATED, HTTP_ACCEPTED = 200, 201, 202


def large_pdf() -> tuple[bytes, str]:
    """A multi-page PDF of the test corpus (most of its ingestion is extraction)."""
    return (CORPUS / "GeoTopo-komprimiert.pdf").read_bytes(), "lecture.pdf"


def large_text(lines: int = 20_000) -> tuple[bytes, str]:
    """Thousands of chunks: most of its ingestion is embedding and indexing them."""
    text = "".join(
        f"Paragraph {n}: a vehicle service contract covers powertrain repairs "
        f"after the factory warranty ends; term {n % 7 + 2} years.\n"
        for n in range(lines)
    )
    return text.encode(), "handbook.txt"


def small_document(tag: str) -> tuple[bytes, str]:
    text = f"Credit life insurance pays the loan if the borrower dies ({tag}).\n" * 40
    return text.encode(), f"credit-life-{tag}.txt"


class DrillDatabase(FreshDatabase):
    """A `FreshDatabase` that also tells what it holds for a document (`stored`)."""

    def stored(self, document_id: str) -> StoredCounts:
        """What PostgreSQL holds for one document, read directly (not through the API)."""
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            row = conn.execute(
                """
                SELECT d.status, d.stage, d.chunk_count, d.attempts,
                       (SELECT count(*) FROM chunks c WHERE c.document_id = d.id),
                       (SELECT count(*) FROM chunk_vectors v
                         WHERE v.namespace = d.dealership_id::text AND v.document_id = d.id),
                       (SELECT count(*) FROM chunk_vectors v WHERE v.document_id = d.id)
                FROM documents d WHERE d.id = %s
                """,
                (uuid.UUID(document_id),),
            ).fetchone()
        if row is None:
            return StoredCounts("missing", None, 0, 0, 0, 0, 0)
        return StoredCounts(*row)


def delivery_statuses(database_url: str, subscription_ids: Sequence[str]) -> dict[str, int]:
    """How many deliveries of the subscriptions PostgreSQL holds, by status."""
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM webhook_deliveries"
            " WHERE subscription_id = ANY(%s) GROUP BY status",
            ([uuid.UUID(s) for s in subscription_ids],),
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


@dataclass(frozen=True)
class StoredCounts:
    status: str
    stage: str | None
    chunk_count: int
    attempts: int
    chunks: int
    vectors: int
    vectors_anywhere: int

    @property
    def exactly_one_set(self) -> bool:
        """Ready, with one chunk row and one vector row per chunk and nothing elsewhere."""
        return (
            self.status == "ready"
            and self.chunk_count > 0
            and self.chunks == self.vectors == self.vectors_anywhere == self.chunk_count
        )

    @property
    def duplicates(self) -> int:
        """Chunk and vector rows beyond one set (0 unless something wrote twice)."""
        extra_chunks = max(0, self.chunks - self.chunk_count)
        return extra_chunks + max(0, self.vectors_anywhere - self.chunk_count)


def stack_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """A test deployment: hashing embedder, cheap Argon2, fast reconciler, no rate limits
    (a drill uploads more than a user may per minute)."""
    return local_environment(database_url, redis_url) | {
        "AVATARADAM_VECTOR_BACKEND": "postgres",
        "AVATARADAM_RATE_LIMIT_ENABLED": "false",
        "AVATARADAM_LOGGING_LEVEL": "INFO",
        **FAST_RECONCILE,
    }


class WorkerProcess(ChildProcess):
    """`avataradam worker` (Dramatiq's main process and its forks) in its own session."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        threads: int = 2,
        queues: Sequence[str] = (),
    ) -> None:
        self.threads = threads
        self.queues = tuple(queues)
        command = ["worker", "--processes", "1", "--threads", str(threads)]
        command += ["--queues", *self.queues] if self.queues else []
        super().__init__(cli(*command), env, log_path, label="avataradam worker")

    def wait_started(self, timeout_s: float = 120) -> Self:
        """Waits until a worker process logs `worker_started` (its container is up and
        its consumers run); RuntimeError with the log's tail if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while "worker_started" not in self.output():
            if self.exited() or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        return self

    def kill_group(self) -> None:
        """SIGKILL to every process of the worker: nothing is acked, finished or cleaned up."""
        self.kill()

    def terminate(self) -> None:
        """SIGTERM to Dramatiq's main process only, as an orchestrator stops a container's
        PID 1: it forwards one SIGTERM to its worker processes and waits for them."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout_s: float) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_s: float = 60, *, whole_group: bool = False) -> None:
        """SIGTERM to Dramatiq's main process; SIGKILL to the group if any process of it
        is still alive after `timeout_s`."""
        super().stop(timeout_s, whole_group=whole_group)


@dataclass(frozen=True)
class DealershipAdmin:
    dealership_id: str
    headers: dict[str, str]


class Stack:
    """Database + private Redis + one API + workers; a context manager that cleans up."""

    def __init__(
        self,
        workdir: Path,
        *,
        extra_env: Mapping[str, str] | None = None,
        admin_dsn: str = ADMIN_DSN,
    ) -> None:
        self.workdir = workdir
        self.database = DrillDatabase(admin_dsn)
        self.redis = PrivateRedis()
        self.env: dict[str, str] = {}
        self.extra_env = dict(extra_env or {})
        self.api: AppProcess | None = None
        self.workers: list[WorkerProcess] = []
        self._super_admin: dict[str, str] | None = None

    def __enter__(self) -> Stack:
        try:
            self.database.create()
            self.redis.start()
            self.env = (
                stack_environment(self.database.url, self.redis.url)
                | {"AVATARADAM_LOGGING_LEVEL": "WARNING"}
                | self.extra_env
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.api is not None:
            self.api.stop()
        # Together, not one after another: a worker takes seconds to stop even when idle.
        with ThreadPoolExecutor(max_workers=max(1, len(self.workers))) as pool:
            for stopping in [pool.submit(w.stop, timeout_s=20) for w in self.workers]:
                stopping.result()
        self.redis.stop()
        self.database.drop()

    def start_api(self, **env: str) -> AppProcess:
        """A new API instance; the previous one, if any, is stopped first."""
        if self.api is not None:
            self.api.stop()
        port = free_port()
        api = AppProcess(
            self.env | {"AVATARADAM_HTTP_PORT": str(port)} | env, self.workdir / f"api-{port}.log"
        )
        api.start()
        self.api = api
        return api

    def start_worker(
        self, *, threads: int = 2, queues: Sequence[str] = (), **env: str
    ) -> WorkerProcess:
        """A new worker process consuming `queues` (all if empty); `env` adds to (or
        overrides) the stack's settings."""
        log = self.workdir / f"worker-{len(self.workers)}.log"
        env = self.env | {"AVATARADAM_LOGGING_LEVEL": "INFO"} | env
        worker = WorkerProcess(env, log, threads=threads, queues=queues).start()
        self.workers.append(worker)
        return worker

    @property
    def base_url(self) -> str:
        if self.api is None:
            raise RuntimeError("the API has not started")
        return self.api.base_url

    def super_admin(self) -> dict[str, str]:
        """A super admin made in this process (no CLI process to start) and signed in."""
        if self._super_admin is None:
            email = f"drill-{uuid.uuid4().hex[:10]}@example.com"
            asyncio.run(_create_super_admin(load_settings(self.env, env_file=None), email))
            response = httpx.post(
                f"{self.base_url}/v1/auth/token",
                json={"email": email, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self._super_admin = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self._super_admin

    def new_dealership_admin(self) -> DealershipAdmin:
        """A dealership and its admin, made through the HTTP API as the super admin."""
        root = self.super_admin()
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            created = http.post(
                "/v1/dealerships", json={"name": f"Drill {uuid.uuid4().hex[:6]}"}, headers=root
            )
            if created.status_code != HTTP_CREATED:
                raise RuntimeError(f"could not create a dealership: {created.text}")
            dealership_id = created.json()["id"]
            email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
            user = http.post(
                "/v1/users",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "role": "dealership_admin",
                    "dealership_id": dealership_id,
                },
                headers=root,
            )
            if user.status_code != HTTP_CREATED:
                raise RuntimeError(f"could not create an admin: {user.text}")
            token = http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
            token.raise_for_status()
        return DealershipAdmin(
            dealership_id, {"Authorization": f"Bearer {token.json()['access_token']}"}
        )

    def upload(
        self, admin: DealershipAdmin, content: bytes, filename: str, topic: str = "books"
    ) -> str:
        with httpx.Client(base_url=self.base_url, timeout=60) as http:
            response = http.post(
                "/v1/documents",
                files={"file": (filename, content, "application/octet-stream")},
                data={"topic": topic},
                headers=admin.headers,
            )
        if response.status_code != HTTP_ACCEPTED:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
        return str(response.json()["id"])

    def subscribe(
        self, admin: DealershipAdmin, url: str, events: Sequence[str] = ("document.ready",)
    ) -> dict[str, Any]:
        """A webhook subscription made through the API (its answer, secret included)."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            response = http.post(
                "/v1/webhooks", json={"url": url, "events": list(events)}, headers=admin.headers
            )
        if response.status_code != HTTP_CREATED:
            raise RuntimeError(f"subscription refused: {response.status_code} {response.text}")
        body: dict[str, Any] = response.json()
        return body

    def webhook(self, admin: DealershipAdmin, webhook_id: str) -> dict[str, Any]:
        """`GET /v1/webhooks/{id}`: the subscription and its delivery log."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            response = http.get(f"/v1/webhooks/{webhook_id}", headers=admin.headers)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def document(self, admin: DealershipAdmin, document_id: str) -> dict[str, object]:
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            response = http.get(f"/v1/documents/{document_id}", headers=admin.headers)
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body

    def wait_until_processing(
        self, admin: DealershipAdmin, document_id: str, timeout_s: float = 60
    ) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self.document(admin, document_id)
            if body["status"] == "processing":
                return body
            if body["status"] != "queued":
                raise RuntimeError(f"document left the queue without processing: {body}")
            time.sleep(0.02)
        raise RuntimeError(f"ingestion of {document_id} never started")

    def wait_until_settled(
        self, document_ids: list[str], timeout_s: float, *, since: float
    ) -> dict[str, float | None]:
        """Seconds from `since` until each document is `ready` or `failed` (None: never),
        read from PostgreSQL so that it works while the API is down."""
        settled: dict[str, float | None] = dict.fromkeys(document_ids)
        deadline = since + timeout_s
        while time.monotonic() < deadline and any(v is None for v in settled.values()):
            for document_id, at in settled.items():
                if at is None and self.database.stored(document_id).status in ("ready", "failed"):
                    settled[document_id] = time.monotonic() - since
            time.sleep(0.1)
        return settled

    def outcome(self, document_ids: list[str], timeout_s: float, *, since: float) -> Outcome:
        """Waits for the documents to settle, then counts what the fault cost."""
        settled = self.wait_until_settled(document_ids, timeout_s, since=since)
        counts = [self.database.stored(i) for i in document_ids]
        done = [v for v in settled.values() if v is not None]
        return Outcome(
            counts=counts,
            lost=sum(c.status != "ready" for c in counts),
            duplicates=sum(c.duplicates for c in counts)
            + sum(c.status == "ready" and not c.exactly_one_set for c in counts),
            completion_s=max(done) if len(done) == len(document_ids) else None,
        )


class ReadyWatch:
    """Polls PostgreSQL in a thread of its own every 50 ms and notes when each watched
    document first reads `ready`, so latencies are measured while uploads go on."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._watched: set[uuid.UUID] = set()
        self.ready: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def watch(self, document_id: str) -> None:
        with self._lock:
            self._watched.add(uuid.UUID(document_id))

    def wait(self, document_ids: list[str], timeout_s: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if all(i in self.ready for i in document_ids):
                    break
            time.sleep(0.05)
        with self._lock:
            return {i: self.ready[i] for i in document_ids if i in self.ready}

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            while not self._stop.is_set():
                with self._lock:
                    pending = list(self._watched)
                if pending:
                    rows = conn.execute(
                        "SELECT id FROM documents WHERE id = ANY(%s) AND status = 'ready'",
                        (pending,),
                    ).fetchall()
                    now = time.monotonic()
                    with self._lock:
                        for (document_id,) in rows:
                            self._watched.discard(document_id)
                            self.ready[str(document_id)] = now
                time.sleep(0.05)


@dataclass(frozen=True)
class Outcome:
    """What became of a batch of documents after a fault."""

    counts: list[StoredCounts]
    lost: int
    """Documents that never became ready."""
    duplicates: int
    """Surplus chunk/vector rows, plus ready documents without exactly one set."""
    completion_s: float | None
    """From the fault until the last document settled; None if one never did."""


async def _create_super_admin(settings: Settings, email: str) -> None:
    container = build_container(settings)
    await container.start()
    try:
        await container.create_user.create(
            NewUser(email=email, password=PASSWORD, role=Role.SUPER_ADMIN), None
        )
    finally:
        await container.close()


def port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def summary(values: list[float], unit: str = "s") -> str:
    if not values:
        return "n/a"
    return (
        f"min {min(values):.2f}  median {statistics.median(values):.2f}  "
        f"max {max(values):.2f} {unit}"
    )
