"""Real Prometheus and Alertmanager (Debian's packages) for the alert drill.

Each drill stack gets its own: a Prometheus scraping the stack's API, workers and the
replica's `prometheus-postgres-exporter` with the rules shipped in
`deploy/prometheus/alerts.yml`, an Alertmanager routing every alert to a webhook
receiver in the drill's own process, and that receiver, which notes when each
notification arrived.

`--scale` shrinks every duration of the rules for shorter runs: each `for:`, range
selector and `offset` is multiplied by it, and so are the thresholds that are
durations in seconds (`SECOND_THRESHOLDS`); the scrape and evaluation intervals
and the Alertmanager's waits shrink with them. Scale 1 runs the shipped rules as
they are.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from ops.harness.processes import ChildProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
POSTGRES_EXPORTER = "prometheus-postgres-exporter"
PROMTOOL = "promtool"

SCRAPE_INTERVAL_S = 15.0
"""The shipped scrape and evaluation interval (deploy/compose/prometheus.yml)."""

GROUP_WAIT_S = 30.0
"""The shipped Alertmanager `group_wait` (deploy/compose/alertmanager.yml)."""

SECOND_THRESHOLDS = frozenset(
    {
        "AvatarAdamQueueOldestMessageTooOld",
        "AvatarAdamDocumentProcessingTooLong",
        "AvatarAdamWorkerHeartbeatStale",
        "AvatarAdamReplicaLagHigh",
    }
)
"""Alerts whose threshold is an age in seconds, scaled with the rest. Latency limits
(the chat p95 of 2 s) are what users feel and stay as they are."""

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def seconds(duration: str) -> float:
    """`"10m"` → 600.0 (Prometheus durations of one unit: ms, s, m, h, d)."""
    match = _DURATION.fullmatch(duration.strip())
    if match is None:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def duration(value_s: float) -> str:
    """Seconds as a Prometheus duration in whole milliseconds (at least 1 ms)."""
    return f"{max(1, round(value_s * 1000))}ms"


_RANGE = re.compile(r"\[(\d+(?:\.\d+)?(?:ms|s|m|h|d))\]")
_OFFSET = re.compile(r"offset (\d+(?:\.\d+)?(?:ms|s|m|h|d))")
_THRESHOLD = re.compile(r"([<>]=?) (\d+(?:\.\d+)?)\s*$")
"""The number an expression compares with at its end (`> 600`)."""


def scale_expression(expr: str, scale: float, *, threshold: bool) -> str:
    """Scales range selectors (`[5m]`), offsets (`offset 1d`) and, with `threshold`,
    the number after the comparison (`> 600`)."""
    if scale == 1:
        return expr
    expr = _RANGE.sub(lambda m: f"[{duration(seconds(m.group(1)) * scale)}]", expr)
    expr = _OFFSET.sub(lambda m: f"offset {duration(seconds(m.group(1)) * scale)}", expr)
    if threshold:
        expr = _THRESHOLD.sub(
            lambda m: f"{m.group(1)} {float(m.group(2)) * scale:g}", expr.rstrip()
        )
    return expr


def scaled_rules(text: str, scale: float) -> dict[str, Any]:
    """The rule file `text` with every duration multiplied by `scale`."""
    document: dict[str, Any] = yaml.safe_load(text)
    if scale == 1:
        return document
    for group in document["groups"]:
        for rule in group["rules"]:
            rule["expr"] = scale_expression(
                rule["expr"], scale, threshold=rule["alert"] in SECOND_THRESHOLDS
            )
            if "for" in rule:
                rule["for"] = duration(seconds(rule["for"]) * scale)
    return document


@dataclass(frozen=True)
class Rule:
    """One alert of the rule file as the drill runs it."""

    name: str
    expr: str
    for_s: float

    @property
    def range_s(self) -> float:
        """The longest range selector of the expression (0 without one)."""
        return max((seconds(m) for m in _RANGE.findall(self.expr)), default=0.0)

    @property
    def offset_s(self) -> float:
        """The expression's `offset` (0 without one)."""
        match = _OFFSET.search(self.expr)
        return seconds(match.group(1)) if match else 0.0

    @property
    def threshold_s(self) -> float:
        """The age in seconds the alert compares with (`SECOND_THRESHOLDS`), else 0."""
        if self.name not in SECOND_THRESHOLDS:
            return 0.0
        match = _THRESHOLD.search(self.expr.rstrip())
        return float(match.group(2)) if match else 0.0


def rules(scale: float, path: Path = RULES) -> dict[str, Rule]:
    document = scaled_rules(path.read_text(), scale)
    return {
        rule["alert"]: Rule(rule["alert"], rule["expr"], seconds(rule.get("for", "0s")))
        for group in document["groups"]
        for rule in group["rules"]
    }


@dataclass(frozen=True)
class Timing:
    """The intervals of one run, shrunk with `scale` (never under a second)."""

    scale: float

    @property
    def scrape_s(self) -> float:
        return max(1.0, SCRAPE_INTERVAL_S * self.scale)

    @property
    def group_wait_s(self) -> float:
        return max(1.0, GROUP_WAIT_S * self.scale)

    def fire_bound_s(self, rule: Rule) -> float:
        """The longest an alert may take from its condition holding (Prometheus's
        `activeAt`) to its notification: its `for:`, one evaluation interval (the
        alert fires at the first evaluation after `for:` has passed), one scrape
        interval (Prometheus's sending and Alertmanager's intake), and the group wait."""
        return rule.for_s + 2 * self.scrape_s + self.group_wait_s


# -- the webhook receiver ------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    at: float
    """`time.monotonic()` when the receiver got it."""
    alertname: str
    status: str
    """firing | resolved"""
    labels: dict[str, str]


@dataclass
class Receiver:
    """Alertmanager's webhook receiver, in this process: every alert of every payload."""

    notifications: list[Notification] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.record(json.loads(body or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - stdlib signature
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver has not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def record(self, payload: Mapping[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            for alert in payload.get("alerts", []):
                labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
                self.notifications.append(
                    Notification(now, labels.get("alertname", "?"), alert["status"], labels)
                )

    def first(self, alertname: str, status: str, *, after: float = 0.0) -> float | None:
        """When the first `status` notification of `alertname` at or after `after` came."""
        with self._lock:
            times = [
                n.at
                for n in self.notifications
                if n.alertname == alertname and n.status == status and n.at >= after
            ]
        return min(times) if times else None

    def fired(self, *, after: float = 0.0) -> set[str]:
        with self._lock:
            return {
                n.alertname for n in self.notifications if n.status == "firing" and n.at >= after
            }

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# -- Prometheus, Alertmanager, the exporter ------------------------------------------------


def tools_missing() -> list[str]:
    """The Debian commands the drill needs that are not on PATH."""
    return [
        name
        for name in (PROMETHEUS, ALERTMANAGER, POSTGRES_EXPORTER, PROMTOOL)
        if shutil.which(name) is None
    ]


@dataclass(frozen=True)
class Targets:
    """What one Prometheus scrapes: `host:port` per job."""

    api: Sequence[str]
    workers: Sequence[str]
    replica_exporter: Sequence[str] = ()


def prometheus_config(
    targets: Targets, rule_file: Path, alertmanager: str, timing: Timing
) -> dict[str, Any]:
    """deploy/compose/prometheus.yml's jobs, pointed at one drill stack."""
    interval = duration(timing.scrape_s)
    jobs = [
        ("avataradam-api", targets.api),
        ("avataradam-worker", targets.workers),
        ("postgres-replica", targets.replica_exporter),
    ]
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": duration(min(timing.scrape_s, 10.0) * 0.8),
            "evaluation_interval": interval,
        },
        "rule_files": [str(rule_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in jobs
            if hosts
        ],
    }


def alertmanager_config(receiver_url: str, timing: Timing) -> dict[str, Any]:
    """deploy/compose/alertmanager.yml's route with the drill's receiver; the waits are
    scaled and `group_interval` is one scrape interval, so that a resolution is told
    promptly (the shipped 5 min holds back later changes of a group, not the first)."""
    return {
        "route": {
            "receiver": "drill",
            "group_by": ["alertname", "queue"],
            "group_wait": duration(timing.group_wait_s),
            "group_interval": duration(timing.scrape_s),
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "drill",
                "webhook_configs": [{"url": receiver_url, "send_resolved": True}],
            }
        ],
    }


def _wait_http(url: str, process: ChildProcess, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.exited():
            raise RuntimeError(f"{what} exited:\n{process.output()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready:\n{process.output()[-3000:]}")


class Alerting:
    """Prometheus + Alertmanager + receiver (+ the replica's exporter) for one stack."""

    def __init__(self, workdir: Path, timing: Timing, *, rules_path: Path = RULES) -> None:
        self.workdir = workdir
        self.timing = timing
        self.rules_path = rules_path
        self.receiver = Receiver()
        self.prometheus: ChildProcess | None = None
        self.alertmanager: ChildProcess | None = None
        self.exporter: ChildProcess | None = None
        self.prometheus_url = ""

    def start_exporter(self, replica_dsn: str) -> str:
        """`prometheus-postgres-exporter` on the replica; its `host:port`."""
        port = free_port()
        self.exporter = ChildProcess(
            [
                POSTGRES_EXPORTER,
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            {"DATA_SOURCE_NAME": replica_dsn, "PATH": "/usr/bin:/bin"},
            self.workdir / "postgres-exporter.log",
            label=f"postgres exporter :{port}",
        ).start()
        _wait_http(f"http://127.0.0.1:{port}/metrics", self.exporter, "the postgres exporter")
        return f"127.0.0.1:{port}"

    def start(self, targets: Targets, *, history: str | None = None) -> Self:
        """Starts the receiver, Alertmanager and Prometheus. `history` (OpenMetrics
        text) is imported into Prometheus's storage first with `promtool tsdb
        create-blocks-from openmetrics`, for rules that compare with the past."""
        self.receiver.start()
        am_port, prom_port = free_port(), free_port()
        am_config = self.workdir / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(alertmanager_config(self.receiver.url, self.timing)))
        self.alertmanager = ChildProcess(
            [
                ALERTMANAGER,
                f"--config.file={am_config}",
                f"--storage.path={self.workdir / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            {"PATH": "/usr/bin:/bin"},
            self.workdir / "alertmanager.log",
            label=f"alertmanager :{am_port}",
        ).start()
        _wait_http(f"http://127.0.0.1:{am_port}/-/ready", self.alertmanager, "Alertmanager")

        rule_file = self.workdir / "alerts.yml"
        rule_file.write_text(
            yaml.safe_dump(scaled_rules(self.rules_path.read_text(), self.timing.scale))
        )
        config = self.workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                prometheus_config(targets, rule_file, f"127.0.0.1:{am_port}", self.timing)
            )
        )
        storage = self.workdir / "prometheus"
        storage.mkdir(exist_ok=True)
        if history is not None:
            source = self.workdir / "history.om"
            source.write_text(history)
            subprocess.run(  # noqa: S603 -- Debian's promtool on our own file
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(storage)],
                check=True,
                capture_output=True,
                timeout=300,
            )
        self.prometheus = ChildProcess(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                f"--rules.alert.resend-delay={duration(self.timing.scrape_s)}",
            ],
            {"PATH": "/usr/bin:/bin"},
            self.workdir / "prometheus.log",
            label=f"prometheus :{prom_port}",
        ).start()
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        _wait_http(f"{self.prometheus_url}/-/ready", self.prometheus, "Prometheus")
        return self

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's `/api/v1/alerts`: pending and firing alerts with `activeAt`."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/alerts", timeout=10)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
        return alerts

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def stop(self) -> None:
        for process in (self.prometheus, self.alertmanager, self.exporter):
            if process is not None:
                process.stop(10)
        self.receiver.stop()


def counter_history(
    series: Mapping[str, float],
    *,
    start: float,
    end: float,
    step_s: float,
    labels: Mapping[str, str],
) -> str:
    """OpenMetrics text of counters that grow by `series[name{labels}]` per second
    from `start` to `end` (Unix seconds), one sample every `step_s`."""
    lines: list[str] = []
    families: dict[str, list[tuple[str, float]]] = {}
    for key, per_second in series.items():
        name, _, inner = key.partition("{")
        families.setdefault(name, []).append((inner.rstrip("}"), per_second))
    common = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for name, members in families.items():
        family = name.removesuffix("_total")
        lines.append(f"# TYPE {family} counter")
        for inner, per_second in members:
            label_text = ",".join(part for part in (inner, common) if part)
            for at in _steps(start, end, step_s):
                value = (at - start) * per_second
                lines.append(f"{name}{{{label_text}}} {value:.3f} {at:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _steps(start: float, end: float, step_s: float) -> Iterator[float]:
    at = start
    while at <= end:
        yield at
        at += step_s
