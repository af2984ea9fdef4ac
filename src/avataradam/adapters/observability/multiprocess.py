"""Prometheus's multi-process mode: one directory of values shared by the processes of
a host, aggregated when `/metrics` is rendered.

prometheus-client decides at import time, from
`PROMETHEUS_MULTIPROC_DIR`, whether values live in per-process mmap files. The variable
must therefore be set in the environment of the process *before* it starts (by the
process manager), which is why it is read here rather than from `Settings`. Every gauge
declares how its per-process values combine (`multiprocess_mode`, the reason beside
each); counters and histograms are summed. `render_metrics` then aggregates all files
of the directory.

Processes come and go (a restarted API, a killed worker, a one-off `create-admin`):
what a dead process counted stays in the sums of counters and histograms, as
prometheus-client intends, but its `live*` gauge values must go, or the pool-size gauge
adds the connections of processes that no longer exist. A process marks itself dead
when it exits normally (at exit, or at the end of a forked multiprocessing worker such
as Granian's and Dramatiq's); a process that could not (SIGKILL, OOM kill) is marked
dead by the next one to start or to render the page, which checks which pids still
run. The directory must therefore belong to one
host and one pid namespace (one per container), which prometheus-client assumes anyway:
its file names are pids.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing.util
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.metrics_core import Metric

MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"

_LIVE_GAUGE_FILE: Final = re.compile(r"gauge_live[a-z]+_(\d+)\.db")
"""prometheus-client's file of a process's `live*` gauges: `gauge_<mode>_<pid>.db`."""


def multiprocess_dir() -> str | None:
    """The shared metrics directory when multi-process mode is on, else None."""
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


class _LiveProcessesCollector:
    """prometheus-client's `MultiProcessCollector` that first drops the `live*` gauge
    files of processes that are gone, so every scrape shows live processes only."""

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._files = multiprocess.MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        mark_dead_processes(self._directory)
        collected: Iterable[Metric] = self._files.collect()  # type: ignore[no-untyped-call]
        return collected


def _multiprocess_registry(directory: str) -> CollectorRegistry:
    aggregated = CollectorRegistry()
    aggregated.register(_LiveProcessesCollector(directory))
    return aggregated


def _exposed_registry(registry: CollectorRegistry | None) -> CollectorRegistry:
    directory = multiprocess_dir()
    if directory is not None:
        return _multiprocess_registry(directory)
    return registry if registry is not None else REGISTRY


def render_metrics(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The `/metrics` body and its content type.

    With `PROMETHEUS_MULTIPROC_DIR` set, the values of every process that wrote to the
    directory are aggregated, `live*` gauges of running processes only (the given
    registry is ignored: in that mode metrics are read from files, not from
    registries). Otherwise `registry` is rendered, or the default registry when None.
    """
    return generate_latest(_exposed_registry(registry)), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int, directory: str | None = None) -> None:
    """Drops the `live*` gauge files of process `pid` (in `directory`, by default
    `PROMETHEUS_MULTIPROC_DIR`), so in-flight and pool gauges stop counting it.

    Call it when the process has exited or is about to; its counters and histograms
    stay. Does nothing outside multi-process mode. Does what prometheus-client's
    `multiprocess.mark_process_dead` does, except that a file another process removed
    meanwhile is no error: two scrapes (the API's, the worker's) may mark the same
    killed process dead at once.
    """
    directory = directory or multiprocess_dir()
    if directory is None:
        return
    for path in Path(directory).glob(f"gauge_live*_{pid}.db"):
        if _LIVE_GAUGE_FILE.fullmatch(path.name):
            path.unlink(missing_ok=True)


def mark_dead_processes(directory: str) -> set[int]:
    """Marks dead (`mark_process_dead`) every process that left `live*` gauge files in
    `directory` and is no longer running: one killed before it could do so itself.
    Returns their pids."""
    try:
        names = [path.name for path in Path(directory).iterdir()]
    except FileNotFoundError:
        return set()
    pids = {int(match[1]) for name in names if (match := _LIVE_GAUGE_FILE.fullmatch(name))}
    dead = {pid for pid in pids if not process_running(pid)}
    for pid in dead:
        mark_process_dead(pid, directory)
    return dead


def process_running(pid: int) -> bool:
    """Whether `pid` names a running process of this pid namespace. A zombie (exited,
    not yet reaped by its parent) is not running: it will never write again."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no procfs (not Linux): `kill(pid, 0)` has to do
    # `pid (comm) state ...`; comm may contain spaces and parentheses.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


@functools.cache
def join_multiprocess_directory(pid: int, directory: str) -> None:
    """Once per process (a fork gets a new pid, and joins again), before it writes:

    - `live*` gauge files already named by this pid are a dead predecessor's that had
      the same pid (pids are reused, in containers almost always): dropped, or this
      process would carry on its values for labels it never sets;
    - files of processes killed since the last scrape are dropped;
    - the process marks itself dead when it exits normally (a forked child that
      inherits the exit hook leaves its parent alone: the pid is compared).
    """
    mark_process_dead(pid, directory)
    mark_dead_processes(directory)
    atexit.register(_mark_dead_at_exit, pid, directory)
    # Forked multiprocessing workers (Granian's, Dramatiq's) leave through `os._exit`,
    # which skips atexit but runs multiprocessing's exit finalizers.
    multiprocessing.util.Finalize(None, _mark_dead_at_exit, (pid, directory), exitpriority=0)


def _mark_dead_at_exit(pid: int, directory: str) -> None:
    if os.getpid() == pid:
        mark_process_dead(pid, directory)


def start_metrics_server(
    *, host: str, port: int, registry: CollectorRegistry | None = None
) -> None:
    """Serves `/metrics` on its own port from a daemon thread, for processes without an
    HTTP app (the worker). Multi-process aware like `render_metrics`."""
    start_http_server(port, host, registry=_exposed_registry(registry))
