"""A server process warms up in the background: it listens at once, ready when warm.

Loading the local embedding model takes seconds (15 s measured on a busy host). Done
during startup, it kept the port closed all that time, so a restarted instance refused
connections and the load balancer could not even ask it how it was. Now startup only
starts the warm-up: `/health/live` answers at once, and `/health/ready` answers 503
`warming_up` until the model is loaded (`warm_up_failed` if it cannot be), so an
orchestrator routes traffic to the instance only when a search no longer waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import structlog
from litestar.di import NamedDependency

_log = structlog.get_logger(__name__)

WarmUpState = Literal["warming_up", "ready", "warm_up_failed"]


class WarmUp:
    """Runs `load` once in the background; `state` says how far it got."""

    def __init__(self, load: Callable[[], Awaitable[None]] | None) -> None:
        """`load` None: nothing to warm (an embedded app), ready at once."""
        self._load = load
        self._task: asyncio.Task[None] | None = None
        self.state: WarmUpState = "warming_up" if load is not None else "ready"
        self.error: str | None = None

    async def start(self) -> None:
        """A Litestar startup hook: returns at once, the warm-up goes on in a task."""
        if self._load is not None and self._task is None:
            self._task = asyncio.create_task(self._run(self._load), name="warm-up")

    async def stop(self) -> None:
        """A Litestar shutdown hook: stops waiting for a warm-up still running."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, load: Callable[[], Awaitable[None]]) -> None:
        started = time.perf_counter()
        try:
            await load()
        except Exception as exc:  # noqa: BLE001 -- reported by readiness and the log
            self.state, self.error = "warm_up_failed", type(exc).__name__
            _log.exception("warm_up_failed")
            return
        freeze_startup_heap()
        self.state = "ready"
        _log.info("warm_up_done", duration_s=round(time.perf_counter() - started, 2))


def freeze_startup_heap() -> None:
    """Moves everything alive after warm-up (framework, model, settings: millions of
    objects once torch is imported) out of the garbage collector's reach, so a full
    collection under load scans only what requests allocate. It is what keeps those
    collections from turning into tail-latency spikes; see the `gc.freeze` docs."""
    gc.collect()
    gc.freeze()


ServerWarmUp = NamedDependency[WarmUp]
"""Handler parameter `warm_up`: the server process's warm-up."""
