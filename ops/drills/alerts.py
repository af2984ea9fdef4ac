"""Alert drill: every alert of deploy/prometheus/alerts.yml, fired by a real fault.

Each fault gets a stack of its own (fresh database, private Redis, API, workers, and
where it needs them a streaming replica with Debian's `prometheus-postgres-exporter`
and a local OpenAI-compatible chat model), scraped by a Prometheus of its own with the
shipped rules and routed by an Alertmanager of its own to a webhook receiver in this
process. Light traffic runs throughout. After a quiet start the fault is caused; the
drill waits for each expected alert's `firing` notification, checks that it came
within the alert's `for:` plus one evaluation, one scrape interval and the group wait
of the condition holding (`activeAt`), clears the fault, waits for the `resolved`
notifications, and checks that no other alert fired. A healthy stack with every part
and all the traffic runs beside them, for `--healthy-s` seconds: nothing may fire.

Stacks run side by side (`--parallel`), so a run at scale 1 takes as long as its
longest fault (the two rules that count over an hour before they resolve: about 65
min). `--scale 0.1` runs the same rules with every duration shrunk tenfold.

Run: `just drill-alerts` (scale 1) or `.venv/bin/python -m ops.drills.alerts --scale 0.1
--only worker-killed`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from ops.drills.alerting import (
    Alerting,
    Rule,
    Targets,
    Timing,
    counter_history,
    rules,
)
from ops.drills.chat_model import ChatModel
from ops.drills.pgcluster import ReplicatedPair
from ops.drills.stack import DealershipAdmin, Stack, WorkerProcess, large_text, small_document
from ops.harness.environment import FAST_RECONCILE
from ops.harness.processes import free_port
from ops.harness.services import PrivateRedis

QUESTIONS = (
    "What does credit life insurance pay?",
    "Who does credit life insurance pay?",
    "When does credit life insurance pay the loan?",
)
HISTORY_HIT_RATIO = 0.9
"""Yesterday's retrieval cache hit ratio, imported into Prometheus for the rule that
compares with the same window a day earlier."""


@dataclass
class Load:
    """Requests per second of each kind of traffic (0: none)."""

    reads: float = 1.0
    searches: float = 0.0
    chats: float = 0.0
    uploads: float = 0.0
    writes: float = 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    """The fault, in a few words (the report's first column)."""
    expected: frozenset[str]
    load: Load = field(default_factory=Load)
    split_workers: bool = False
    """An ingest worker and a webhooks worker (compose.yaml's topology) instead of one."""
    replica: bool = False
    chat_model: bool = False
    rate_limits: bool = False
    history: bool = False


SCENARIOS = (
    Scenario(
        "worker-killed",
        "every worker SIGKILLed",
        frozenset({"AvatarAdamWorkerAbsent", "AvatarAdamWorkerHeartbeatStale"}),
    ),
    Scenario(
        "queue-backlog",
        "ingest worker SIGKILLed, 120 uploads",
        frozenset({"AvatarAdamQueueBacklog", "AvatarAdamQueueOldestMessageTooOld"}),
        split_workers=True,
    ),
    Scenario(
        "stuck-document",
        "ingest worker frozen (SIGSTOP) mid-document",
        frozenset(
            {
                "AvatarAdamDocumentsStuckProcessing",
                "AvatarAdamDocumentProcessingTooLong",
                "AvatarAdamQueueOldestMessageTooOld",
            }
        ),
        split_workers=True,
    ),
    Scenario(
        "failing-documents",
        "11 unreadable PDFs uploaded",
        frozenset({"AvatarAdamIngestionFailures"}),
    ),
    Scenario(
        "redis-stopped",
        "Redis stopped",
        frozenset({"AvatarAdamRateLimiterDegraded"}),
        load=Load(reads=1.0, searches=0.5),
        rate_limits=True,
    ),
    Scenario(
        "chat-model-failing",
        "chat model answers 500 (a 5xx burst)",
        frozenset({"AvatarAdamHttp5xxRatioHigh", "AvatarAdamExternalServiceErrors"}),
        load=Load(reads=1.0, chats=1.0),
        chat_model=True,
    ),
    Scenario(
        "slow-chat-model",
        "chat model answers after 3 s",
        frozenset({"AvatarAdamChatLatencyHigh"}),
        load=Load(reads=0.5, chats=1.0),
        chat_model=True,
    ),
    Scenario(
        "replica-stopped",
        "read replica SIGKILLed",
        frozenset({"AvatarAdamReplicaDown"}),
        load=Load(reads=2.0),
        replica=True,
    ),
    Scenario(
        "replica-lagging",
        "replica's replay paused under writes",
        frozenset({"AvatarAdamReplicaLagHigh"}),
        load=Load(reads=0.2, writes=1.0),
        replica=True,
    ),
    Scenario(
        "cache-churn",
        "a document uploaded every 2 s (each starts a new generation)",
        frozenset({"AvatarAdamRetrievalCacheHitRateDrop"}),
        load=Load(reads=0.5, searches=1.0),
        history=True,
    ),
    Scenario(
        "budget-spent",
        "a dealership's budget set 15,000 tokens above its spending",
        frozenset({"AvatarAdamUsageBudgetNearlySpent", "AvatarAdamUsageBudgetExhausted"}),
        load=Load(reads=0.5, chats=0.5),
        chat_model=True,
    ),
)

HEALTHY = Scenario(
    "healthy",
    "none: every part, all traffic",
    frozenset(),
    load=Load(reads=1.0, searches=0.5, chats=0.5, uploads=0.05, writes=0.2),
    split_workers=True,
    replica=True,
    chat_model=True,
    history=True,
)

BY_NAME = {s.name: s for s in (*SCENARIOS, HEALTHY)}


@dataclass
class AlertTiming:
    alert: str
    fired_s: float | None = None
    """From the fault to the `firing` notification."""
    active_to_notified_s: float | None = None
    """From Prometheus's `activeAt` (the condition first held) to the notification."""
    bound_s: float = 0.0
    """The most `active_to_notified_s` may be: `for:` + evaluation + scrape + group wait."""
    resolved_s: float | None = None
    """From clearing the fault to the `resolved` notification."""

    @property
    def ok(self) -> bool:
        return (
            self.fired_s is not None
            and self.resolved_s is not None
            and self.active_to_notified_s is not None
            and self.active_to_notified_s <= self.bound_s
        )


@dataclass
class Result:
    scenario: Scenario
    alerts: list[AlertTiming] = field(default_factory=list)
    unexpected: set[str] = field(default_factory=set)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.unexpected and all(a.ok for a in self.alerts)


class Traffic:
    """A thread per kind of request, each at its rate, until `stop`."""

    def __init__(self, run: Run, load: Load) -> None:
        self.run = run
        self.load = load
        self.stop_event = threading.Event()
        self.statuses: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        kinds: dict[str, tuple[float, Callable[[httpx.Client, int], httpx.Response]]] = {
            "read": (self.load.reads, self.run.read),
            "search": (self.load.searches, self.run.search),
            "chat": (self.load.chats, self.run.chat),
            "upload": (self.load.uploads, self.run.upload_small),
            "write": (self.load.writes, self.run.write),
        }
        for kind, (rate, action) in kinds.items():
            if rate > 0:
                thread = threading.Thread(target=self._loop, args=(kind, rate, action), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _loop(
        self, kind: str, rate: float, action: Callable[[httpx.Client, int], httpx.Response]
    ) -> None:
        period = 1.0 / rate
        n = 0
        with httpx.Client(base_url=self.run.stack.base_url, timeout=30) as http:
            while not self.stop_event.is_set():
                started = time.monotonic()
                try:
                    status = action(http, n).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    counts = self.statuses.setdefault(kind, {})
                    counts[status] = counts.get(status, 0) + 1
                n += 1
                self.stop_event.wait(max(0.0, period - (time.monotonic() - started)))

    def refused(self) -> dict[int, int]:
        """401 and 403 answers: the drill's own sign-in failing, which would make the
        traffic stop testing anything."""
        with self._lock:
            counts = [c for kind in self.statuses.values() for c in kind.items()]
        refused: dict[int, int] = {}
        for status, n in counts:
            if status in (401, 403):
                refused[status] = refused.get(status, 0) + n
        return refused

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(40)


class Run:
    """One scenario: its stack, alerting and traffic, and the fault's steps."""

    def __init__(self, scenario: Scenario, workdir: Path, timing: Timing) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.timing = timing
        self.pair: ReplicatedPair | None = None
        self.chat_model: ChatModel | None = None
        self.stack: Stack
        self.alerting = Alerting(workdir, timing)
        self.workers: dict[str, tuple[WorkerProcess, int]] = {}
        self.admin: DealershipAdmin
        self.conversation_id = ""
        self.traffic: Traffic | None = None
        self._churn = threading.Event()
        self._churn_thread: threading.Thread | None = None

    # -- set-up -----------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        beat = max(1.0, 15.0 * self.timing.scale)
        env = {
            "AVATARADAM_WORKER_HEARTBEAT_INTERVAL_S": f"{beat:g}",
            "AVATARADAM_RATE_LIMIT_ENABLED": "true" if self.scenario.rate_limits else "false",
            # The traffic signs in once: its token must outlive the longest fault (the
            # default 15 min would turn the traffic into 401s halfway through a run).
            "AVATARADAM_AUTH_ACCESS_TOKEN_TTL_S": str(4 * 3600),
            "AVATARADAM_LOGGING_LEVEL": "WARNING",
        }
        if self.chat_model is not None:
            env |= {
                "AVATARADAM_CHAT_MODEL": "openai",
                "AVATARADAM_CHAT_OPENAI_BASE_URL": self.chat_model.base_url,
                "AVATARADAM_CHAT_OPENAI_API_KEY": "drill-key",
            }
        return env

    def start(self) -> None:
        if self.scenario.chat_model:
            self.chat_model = ChatModel().start()
        admin_dsn = None
        if self.scenario.replica:
            self.pair = ReplicatedPair.create(synchronous=False)
            admin_dsn = self.pair.primary.dsn("postgres")
        where = {} if admin_dsn is None else {"admin_dsn": admin_dsn}
        self.stack = Stack(self.workdir, extra_env=self.environment(), **where)
        self.stack.__enter__()
        # The shipped reconciling times, not the other drills' seconds.
        self.stack.env = {k: v for k, v in self.stack.env.items() if k not in FAST_RECONCILE}
        replica_exporter: list[str] = []
        if self.pair is not None:
            replica_url = (
                f"postgresql://postgres@127.0.0.1:{self.pair.standby.port}/"
                f"{self.stack.database.name}"
            )
            self.stack.env["AVATARADAM_DATABASE_REPLICA_URL"] = replica_url
            replica_exporter.append(
                self.alerting.start_exporter(
                    f"postgresql://postgres@127.0.0.1:{self.pair.standby.port}/postgres"
                    "?sslmode=disable"
                )
            )
        api = self.stack.start_api()
        if self.scenario.split_workers:
            self.start_worker("ingest", ("ingest",))
            self.start_worker("webhooks", ("webhooks",))
        else:
            self.start_worker("all", ())
        self.admin = self.stack.new_dealership_admin()
        document = self.stack.upload(self.admin, *small_document("seed"))
        self.wait_ready(document)
        if self.scenario.chat_model or self.scenario.load.chats:
            with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
                created = http.post(
                    "/v1/conversations", json={"mode": "training"}, headers=self.admin.headers
                )
                created.raise_for_status()
                self.conversation_id = created.json()["id"]
        history = self.history() if self.scenario.history else None
        self.alerting.start(
            Targets(
                api=[f"127.0.0.1:{api.port}"],
                workers=[f"127.0.0.1:{port}" for _, port in self.workers.values()],
                replica_exporter=replica_exporter,
            ),
            history=history,
        )

    def start_worker(self, name: str, queues: tuple[str, ...]) -> WorkerProcess:
        """A worker serving /metrics on its own port (the same port again on a restart)."""
        port = self.workers[name][1] if name in self.workers else free_port()
        worker = self.stack.start_worker(
            queues=queues,
            AVATARADAM_WORKER_METRICS_PORT=str(port),
        ).wait_started()
        self.workers[name] = (worker, port)
        return worker

    def history(self) -> str:
        """Yesterday's retrieval cache traffic (hits at `HISTORY_HIT_RATIO`), from two
        hours before now until three hours after it (half the offset when scaled), a day
        (the rule's offset) back."""
        rule = rules(self.timing.scale)["AvatarAdamRetrievalCacheHitRateDrop"]
        offset = rule.offset_s
        now = time.time()
        return counter_history(
            {
                'avataradam_cache_requests_total{cache="retrieval",result="hit"}': (
                    HISTORY_HIT_RATIO
                ),
                'avataradam_cache_requests_total{cache="retrieval",result="miss"}': (
                    1 - HISTORY_HIT_RATIO
                ),
            },
            start=now - offset - 2 * 3600 * self.timing.scale - 60,
            # Older than now: Prometheus refuses samples older than imported ones.
            end=now - offset + min(3 * 3600, offset / 2),
            step_s=self.timing.scrape_s,
            labels={"job": "avataradam-api", "instance": "history"},
        )

    def wait_ready(self, document_id: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.stack.document(self.admin, document_id)["status"]
            if status == "ready":
                return
            if status == "failed":
                raise RuntimeError(f"document {document_id} failed")
            time.sleep(0.2)
        raise RuntimeError(f"document {document_id} was not ready in {timeout_s} s")

    def wait_scraped(self, timeout_s: float = 120) -> None:
        """Until every target has been scraped and is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            up = self.alerting.query("up")
            if up and all(sample["value"][1] == "1" for sample in up):
                return
            time.sleep(self.timing.scrape_s / 2)
        raise RuntimeError(f"targets not up: {self.alerting.query('up')}")

    # -- traffic ----------------------------------------------------------------------

    def read(self, http: httpx.Client, _: int) -> httpx.Response:
        return http.get("/v1/documents", params={"limit": 5}, headers=self.admin.headers)

    def search(self, http: httpx.Client, n: int) -> httpx.Response:
        return http.post(
            "/v1/search",
            json={"query": QUESTIONS[n % len(QUESTIONS)]},
            headers=self.admin.headers,
        )

    def chat(self, http: httpx.Client, n: int) -> httpx.Response:
        return http.post(
            f"/v1/conversations/{self.conversation_id}/messages",
            json={"content": QUESTIONS[n % len(QUESTIONS)]},
            headers=self.admin.headers,
        )

    def upload_small(self, http: httpx.Client, _: int) -> httpx.Response:
        content, name = small_document(uuid.uuid4().hex[:8])
        return http.post(
            "/v1/documents",
            files={"file": (name, content, "text/plain")},
            data={"topic": "product_knowledge"},
            headers=self.admin.headers,
        )

    def write(self, http: httpx.Client, _: int) -> httpx.Response:
        return http.post("/v1/conversations", json={"mode": "training"}, headers=self.admin.headers)

    # -- faults -----------------------------------------------------------------------

    def inject(self) -> None:
        getattr(self, "inject_" + self.scenario.name.replace("-", "_"))()

    def clear(self) -> None:
        getattr(self, "clear_" + self.scenario.name.replace("-", "_"))()

    def inject_worker_killed(self) -> None:
        for worker, _ in self.workers.values():
            worker.kill_group()

    def clear_worker_killed(self) -> None:
        self.start_worker("all", ())

    def inject_queue_backlog(self) -> None:
        self.workers["ingest"][0].kill_group()
        with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
            for n in range(120):
                self.upload_small(http, n).raise_for_status()

    def clear_queue_backlog(self) -> None:
        self.start_worker("ingest", ("ingest",))

    def inject_stuck_document(self) -> None:
        document = self.stack.upload(self.admin, *large_text(60_000))
        self.stack.wait_until_processing(self.admin, document)
        os.killpg(self.workers["ingest"][0].pid, signal.SIGSTOP)

    def clear_stuck_document(self) -> None:
        os.killpg(self.workers["ingest"][0].pid, signal.SIGCONT)

    def inject_failing_documents(self) -> None:
        for n in range(11):
            unreadable = b"%PDF-1.7\n" + os.urandom(4096)  # each its own bytes: no duplicate
            self.stack.upload(self.admin, unreadable, f"unreadable-{n}.pdf")

    def clear_failing_documents(self) -> None:
        """Nothing to undo: the alert resolves once the failures leave its hour."""

    def inject_redis_stopped(self) -> None:
        self.stack.redis.stop()

    def clear_redis_stopped(self) -> None:
        self.stack.redis = PrivateRedis(port=self.stack.redis.port).start()

    def inject_chat_model_failing(self) -> None:
        assert self.chat_model is not None  # noqa: S101 -- set by start()
        self.chat_model.failing_with = 500

    def clear_chat_model_failing(self) -> None:
        assert self.chat_model is not None  # noqa: S101 -- set by start()
        self.chat_model.failing_with = None

    def inject_slow_chat_model(self) -> None:
        assert self.chat_model is not None  # noqa: S101 -- set by start()
        self.chat_model.delay_s = 3.0

    def clear_slow_chat_model(self) -> None:
        assert self.chat_model is not None  # noqa: S101 -- set by start()
        self.chat_model.delay_s = 0.0

    def inject_replica_stopped(self) -> None:
        assert self.pair is not None  # noqa: S101 -- set by start()
        self.pair.standby.kill_all()

    def clear_replica_stopped(self) -> None:
        assert self.pair is not None  # noqa: S101 -- set by start()
        self.pair.standby.start()
        self.pair.standby.wait_ready()
        self.pair.wait_streaming()

    def inject_replica_lagging(self) -> None:
        assert self.pair is not None  # noqa: S101 -- set by start()
        self.pair.standby.execute("SELECT pg_wal_replay_pause()")

    def clear_replica_lagging(self) -> None:
        assert self.pair is not None  # noqa: S101 -- set by start()
        self.pair.standby.execute("SELECT pg_wal_replay_resume()")

    def inject_cache_churn(self) -> None:
        self._churn.clear()

        def churn() -> None:
            with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
                n = 0
                while not self._churn.wait(2.0):
                    with contextlib.suppress(httpx.HTTPError):
                        self.upload_small(http, n)
                    n += 1

        self._churn_thread = threading.Thread(target=churn, daemon=True)
        self._churn_thread.start()

    def clear_cache_churn(self) -> None:
        self._churn.set()
        if self._churn_thread is not None:
            self._churn_thread.join(40)

    def _budget(self, tokens: int | None) -> None:
        with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
            response = http.patch(
                f"/v1/dealerships/{self.admin.dealership_id}",
                json={"monthly_token_budget": tokens},
                headers=self.stack.super_admin(),
            )
        response.raise_for_status()

    def inject_budget_spent(self) -> None:
        """A budget 15,000 tokens above what the month has spent so far: the next
        replies (each holds its prompt and longest reply, at most about 2,500 tokens)
        cross 80 %, then one is refused."""
        with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
            response = http.get(
                "/v1/usage",
                params={"dealership_id": self.admin.dealership_id},
                headers=self.stack.super_admin(),
            )
        response.raise_for_status()
        self._budget(int(response.json()["budget"]["used_tokens"]) + 15_000)

    def clear_budget_spent(self) -> None:
        self._budget(None)

    # -- the run ----------------------------------------------------------------------

    def close(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        self._churn.set()
        for worker, _ in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGCONT)
        self.alerting.stop()
        with contextlib.suppress(AttributeError):
            self.stack.close()
        if self.pair is not None:
            self.pair.drop()
        if self.chat_model is not None:
            self.chat_model.stop()


def settle_s(rule: Rule, timing: Timing) -> float:
    """The longest an alert may take from its fault to its notification: its ranges
    filling (or emptying), its age threshold passing, `for:`, and the bound."""
    return rule.range_s + rule.threshold_s + timing.fire_bound_s(rule)


def _active_at(alerting: Alerting) -> dict[str, float]:
    """`time.monotonic()` at which each pending or firing alert's condition first held."""
    now_wall, now_mono = time.time(), time.monotonic()
    found: dict[str, float] = {}
    for alert in alerting.alerts():
        at = datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00")).timestamp()
        name = alert["labels"]["alertname"]
        found[name] = min(found.get(name, float("inf")), now_mono - (now_wall - at))
    return found


def run_scenario(
    scenario: Scenario, timing: Timing, workdir: Path, *, healthy_s: float = 300
) -> Result:
    """Starts the scenario's stack and traffic, waits quietly (`healthy_s` for the
    healthy stack), then causes the fault, times each expected alert's firing, clears
    the fault and times each resolution. Never raises: a failure is `Result.error`."""
    result = Result(scenario)
    run = Run(scenario, workdir, timing)
    try:
        run.start()
        run.wait_scraped()
        run.traffic = Traffic(run, scenario.load)
        run.traffic.start()
        time.sleep(healthy_s if not scenario.expected else 3 * timing.scrape_s)
        result.unexpected |= run.alerting.receiver.fired()
        if scenario.expected:
            result.alerts = _fault(run, rules(timing.scale))
            result.unexpected |= run.alerting.receiver.fired() - scenario.expected
    except Exception:  # noqa: BLE001 -- one scenario's failure is reported, the rest run
        result.error = traceback.format_exc(limit=6)
    finally:
        if run.traffic is not None:
            run.traffic.stop()
            (workdir / "traffic.txt").write_text(f"{run.traffic.statuses!r}\n")
            refused = run.traffic.refused()
            if refused and result.error is None:
                result.error = f"the traffic was refused ({refused}): not the fault's doing\n"
        run.close()
    return result


def _fault(run: Run, all_rules: dict[str, Rule]) -> list[AlertTiming]:
    timing = run.timing
    timings = {name: AlertTiming(name) for name in sorted(run.scenario.expected)}
    for name, timed in timings.items():
        timed.bound_s = timing.fire_bound_s(all_rules[name])
    longest_s = max(settle_s(all_rules[name], timing) for name in timings) + 60
    receiver = run.alerting.receiver

    fault_at = time.monotonic()
    run.inject()
    active: dict[str, float] = {}
    while time.monotonic() < fault_at + longest_s and any(
        t.fired_s is None for t in timings.values()
    ):
        for name, at in _active_at(run.alerting).items():
            active.setdefault(name, at)
        for name, timed in timings.items():
            notified = receiver.first(name, "firing", after=fault_at)
            if timed.fired_s is None and notified is not None:
                timed.fired_s = notified - fault_at
                if name in active:
                    timed.active_to_notified_s = notified - active[name]
        time.sleep(min(1.0, timing.scrape_s / 2))

    clear_at = time.monotonic()
    run.clear()
    while time.monotonic() < clear_at + longest_s and any(
        t.resolved_s is None and t.fired_s is not None for t in timings.values()
    ):
        for name, timed in timings.items():
            resolved = receiver.first(name, "resolved", after=clear_at)
            if timed.resolved_s is None and resolved is not None:
                timed.resolved_s = resolved - clear_at
        time.sleep(min(1.0, timing.scrape_s / 2))
    return list(timings.values())


def _num(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def _rows(result: Result) -> list[str]:
    fault = result.scenario.fault
    if not result.alerts:
        fired = ", ".join(sorted(result.unexpected)) or "none"
        return [f"| {fault} | fired: {fired} | | | | {'ok' if result.ok else 'FAILED'} |"]
    rows = [
        f"| {fault} | {timed.alert} | {_num(timed.fired_s)} | "
        f"{_num(timed.active_to_notified_s)} ({timed.bound_s:.1f}) | "
        f"{_num(timed.resolved_s)} | {'ok' if timed.ok else 'FAILED'} |"
        for timed in result.alerts
    ]
    if result.unexpected:
        rows.append(
            f"| {fault} | also fired: {', '.join(sorted(result.unexpected))} | | | | FAILED |"
        )
    return rows


def render(results: list[Result], timing: Timing) -> str:
    """The report: a Markdown table of fault, alert and seconds, then any errors."""
    lines = [
        f"scale {timing.scale:g}: scrape and evaluation every {timing.scrape_s:g} s, "
        f"group wait {timing.group_wait_s:g} s",
        "",
        "| fault | alert | fired after the fault, s | activeAt → notified, s (bound) "
        "| resolved after clearing, s | ok |",
        "|---|---|---:|---:|---:|---|",
    ]
    for result in results:
        lines.extend(_rows(result))
    lines.extend(
        f"\n{result.scenario.name} failed:\n```\n{result.error}```"
        for result in results
        if result.error
    )
    return "\n".join(lines)


def covered(scenarios: list[Scenario]) -> set[str]:
    return {name for s in scenarios for name in s.expected}


@contextlib.contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="avataradam-alerts-"))
    else:
        with tempfile.TemporaryDirectory(prefix="avataradam-alerts-") as path:
            yield Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", choices=sorted(BY_NAME), default=None)
    parser.add_argument("--parallel", type=int, default=len(SCENARIOS) + 1)
    parser.add_argument("--healthy-s", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args(argv)
    timing = Timing(args.scale)
    chosen = [BY_NAME[n] for n in args.only] if args.only else [*SCENARIOS, HEALTHY]
    if not args.only:
        missing = set(rules(timing.scale)) - covered(chosen)
        if missing:
            print(f"alerts no fault covers: {sorted(missing)}")  # noqa: T201
            return 1
    with _workdir(args.keep) as root, ThreadPoolExecutor(args.parallel) as pool:
        started = time.monotonic()
        futures = []
        for scenario in chosen:
            folder = root / scenario.name
            folder.mkdir()
            futures.append(
                pool.submit(run_scenario, scenario, timing, folder, healthy_s=args.healthy_s)
            )
        for done in as_completed(futures):  # each fault's rows as soon as it is over
            print(*_rows(done.result()), sep="\n", flush=True)  # noqa: T201 -- progress
        results = [f.result() for f in futures]
        print(f"\n{render(results, timing)}")  # noqa: T201 -- the drill's report
        print(f"\n{len(results)} stacks in {time.monotonic() - started:.0f} s; logs: {root}")  # noqa: T201
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
