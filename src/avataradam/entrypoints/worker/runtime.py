"""The worker process's container, started inside Dramatiq's asyncio event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import Settings

_log = structlog.get_logger(__name__)


class WorkerRuntime(dramatiq.Middleware):
    """Builds the container after the worker boots and runs the periodic duties.

    Every worker process relays the outbox and reconciles stuck documents; both are
    safe to run in many processes at once (row locks, SKIP LOCKED).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._container: Container | None = None
        self._periodic: asyncio.Task[None] | None = None

    @property
    def container(self) -> Container:
        if self._container is None:
            raise RuntimeError("the worker runtime has not started")
        return self._container

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Starts the container before any consumer runs: Dramatiq starts its consumer
        threads before `after_worker_boot`, so a message could otherwise arrive first.
        The AsyncIO middleware, added earlier, has created the event loop thread by now."""
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before WorkerRuntime")
        loop_thread.run_coroutine(self._start())

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None and self._container is not None:
            loop_thread.run_coroutine(self._stop())

    async def _start(self) -> None:
        self._container = build_container(self.settings)
        await self._container.start()
        self._periodic = asyncio.create_task(self._run_periodic())
        _log.info("worker_started")

    async def _stop(self) -> None:
        if self._periodic is not None:
            self._periodic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._periodic
        await self.container.close()

    async def _run_periodic(self) -> None:
        interval = self.settings.ingestion.reconcile_interval_s
        while True:
            await self.tick()
            await asyncio.sleep(interval)

    async def tick(self) -> dict[str, Any]:
        """One round of periodic duties; failures are logged and retried next round."""
        container = self.container
        done: dict[str, Any] = {}
        try:
            done["relayed"] = await container.relay_outbox()
            done["redriven"] = [str(i) for i in await container.reconcile_documents()]
        except Exception:  # noqa: BLE001 -- the loop must outlive any one failed round
            _log.exception("periodic_duties_failed")
        else:
            if done["relayed"] or done["redriven"]:
                _log.info("periodic_duties", **done)
        return done
