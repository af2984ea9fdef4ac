"""Stopping a worker process: one bounded drain, however the stop is signalled.

Dramatiq's worker process takes its second SIGTERM as "kill": it raises SystemExit in
its main thread without stopping the worker. With the AsyncIO middleware the
interpreter then waits forever for the event-loop thread while the consumer threads go
on taking messages, and every message they take fails ("cannot schedule new futures
after interpreter shutdown"). A second SIGTERM is what every group-wide stop delivers:
systemd's KillMode=control-group, `kill -- -PGID` and a shell's Ctrl-C reach the worker
process both directly and through Dramatiq's main process, which forwards each signal
it gets.

`GracefulStop` makes every stop the same drain, bounded by `drain_timeout_s`:

- the first SIGTERM or SIGHUP runs Dramatiq's own handler (its graceful stop: running
  messages finish, prefetched ones are requeued) and stops the consumer threads at
  once, so nothing more is fetched (Dramatiq would keep them fetching, and holding
  what they fetch, until the running messages are done); later signals change nothing;
- a message a worker thread takes after the signal goes back to its queue untouched
  (requeued: neither retried nor failed);
- messages still running `interrupt_margin_s` before the deadline get Dramatiq's
  `Shutdown` interrupt, and the Retries middleware re-enqueues them (`retry_when`
  never gives up on a `Shutdown`);
- a process still alive at the deadline exits at once (`os._exit`), whatever holds it:
  status 0 if the worker had shut down (what still ran were threads of interrupted
  tasks, whose messages are back in Redis), 1 if it had not.

The deadline of the worker process is `MAIN_PROCESS_MARGIN_S` before the drain
timeout: Dramatiq's main process notices its exit within a second (it polls its log
pipes every second) and then exits too (2 s measured on a host overloaded fivefold),
and the whole `avataradam worker` must be gone by the timeout.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import Broker, MessageProxy
from dramatiq.middleware import Shutdown, SkipMessage
from dramatiq.middleware.threading import raise_thread_exception
from dramatiq.worker import ConsumerThread

_log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
MAIN_PROCESS_MARGIN_S = 3.0
EXIT_STILL_DRAINING = 1
COROUTINE_CLEANUP_S = 1.0
"""How long Dramatiq's worker thread waits for an interrupted actor's coroutine to run
its cleanup (`dramatiq.asyncio.EventLoopThread.run_coroutine`, a fixed 1 s)."""
CLOSE_S = 0.5
"""Time for the worker to close once its threads are done."""
"""Exit status of a process whose worker had not shut down at the deadline (Dramatiq's
RET_KILLED)."""

SignalHandler = Callable[[int, FrameType | None], Any]


def retry_when(max_retries: int) -> Callable[[int, BaseException], bool]:
    """Dramatiq's `retry_when` actor option: an attempt interrupted by a worker's stop is
    always retried; any other failure while fewer than `max_retries` retries were made."""

    def should_retry(retries: int, exception: BaseException) -> bool:
        return isinstance(exception, Shutdown) or retries < max_retries

    return should_retry


class GracefulStop(dramatiq.Middleware):
    """See the module docstring. Add it last: its `before_process_message` then runs
    just before the actor and its `after_process_message` right after it returns, so a
    `Shutdown` can only land inside the actor."""

    def __init__(
        self,
        drain_timeout_s: float,
        *,
        interrupt_margin_s: float = 5.0,
        at_deadline: Callable[[bool], None] | None = None,
    ) -> None:
        """`interrupt_margin_s` leaves interrupted tasks the time to re-enqueue
        themselves and the process the time to close: at most half the time left, or,
        when the time left allows it, Dramatiq's wait for an interrupted coroutine plus
        the time to close (`COROUTINE_CLEANUP_S + CLOSE_S`), so that a cleanup Dramatiq
        still waits for never runs into the deadline. `at_deadline` is what happens to
        a process still alive at its deadline, told whether the worker had shut down
        (default: the process exits)."""
        self.drain_timeout_s = drain_timeout_s
        self.exit_after_s = max(drain_timeout_s - MAIN_PROCESS_MARGIN_S, drain_timeout_s / 2)
        left = self.exit_after_s
        margin = max(left / 2, min(left - CLOSE_S, COROUTINE_CLEANUP_S + CLOSE_S))
        self.interrupt_after_s = left - min(interrupt_margin_s, margin)
        self._at_deadline = at_deadline or _exit_at_deadline
        self._stopping = threading.Event()
        self._shut_down = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, str] = {}
        self._worker: dramatiq.Worker | None = None
        self._dramatiq_handler: SignalHandler | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def after_process_boot(self, broker: Broker) -> None:  # noqa: ARG002 -- Dramatiq's hook signature
        """Runs in the worker process's main thread after Dramatiq has installed its
        signal handler (before importing the actor module) and before the worker starts."""
        handler = signal.getsignal(signal.SIGTERM)
        if not callable(handler):
            _log.warning("worker_stop_handler_missing", handler=str(handler))
            return
        self._dramatiq_handler = handler
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.request_stop)

    def before_worker_boot(self, broker: Broker, worker: dramatiq.Worker) -> None:  # noqa: ARG002
        self._worker = worker

    def after_worker_shutdown(self, broker: Broker, worker: dramatiq.Worker) -> None:  # noqa: ARG002
        self._shut_down.set()

    def after_consumer_thread_boot(self, broker: Broker, thread: ConsumerThread) -> None:  # noqa: ARG002
        """Consumers that start after the signal (it came during warm-up) stop at once."""
        if self.stopping:
            thread.stop()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:  # noqa: ARG002
        if self.stopping:
            self._requeue(message)
            raise SkipMessage("the worker is stopping; the message went back to its queue")
        with self._lock:
            self._running[threading.get_ident()] = message.message_id

    def after_process_message(
        self,
        broker: Broker,  # noqa: ARG002 -- Dramatiq's hook signature
        message: MessageProxy,  # noqa: ARG002
        *,
        result: object = None,  # noqa: ARG002
        exception: BaseException | None = None,  # noqa: ARG002
    ) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        """What a stop signal does (also callable directly, e.g. from tests)."""
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            _log.info("worker_stop_already_requested", signal=name)
            return
        self._stopping.set()
        _log.info("worker_stopping", signal=name, drain_timeout_s=self.drain_timeout_s)
        self._stop_consumers()
        _daemon_timer(self.interrupt_after_s, self._interrupt_running)
        _daemon_timer(self.exit_after_s, lambda: self._at_deadline(self._shut_down.is_set()))
        if self._dramatiq_handler is not None:
            self._dramatiq_handler(signum, frame)

    def _stop_consumers(self) -> None:
        """Dramatiq's own `ConsumerThread.stop`, early: `Worker.stop` stops them again,
        then requeues what they had fetched and closes them, as usual."""
        if self._worker is not None:
            for consumer in list(self._worker.consumers.values()):
                consumer.stop()

    def _requeue(self, message: MessageProxy) -> None:
        """Back to its queue, as Dramatiq requeues what it had prefetched. Should
        Redis refuse, Dramatiq logs the error and runs the message here: better late than lost."""
        if self._worker is None:
            raise RuntimeError("a message arrived before the worker booted")
        self._worker.consumers[message.queue_name].requeue_messages([message])
        _log.info("task_requeued_at_stop", actor=message.actor_name, message_id=message.message_id)

    def _interrupt_running(self) -> None:
        with self._lock:
            for thread_id, message_id in self._running.items():
                _log.warning("task_interrupted_at_stop", message_id=message_id)
                raise_thread_exception(thread_id, Shutdown)  # type: ignore[no-untyped-call]


def _daemon_timer(delay_s: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(delay_s, action)
    timer.daemon = True
    timer.start()


def _exit_at_deadline(shut_down: bool) -> None:
    if shut_down:
        _log.warning("worker_exit_forced", reason="threads of interrupted tasks still running")
        os._exit(0)
    _log.error("worker_exit_forced", reason="the worker had not shut down")
    os._exit(EXIT_STILL_DRAINING)
