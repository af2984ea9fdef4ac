"""GracefulStop: however often a worker process is signalled, it drains once, takes no
new message, interrupts what still runs shortly before the deadline (re-enqueued by
Dramatiq's Retries, never failed) and exits at the deadline.

In-process, with Dramatiq's StubBroker and Worker; tests/integration/
test_graceful_shutdown.py signals real `avataradam worker` processes.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.message import Message
from dramatiq.middleware import AsyncIO, Shutdown, SkipMessage

from avataradam.entrypoints.worker.shutdown import (
    CLOSE_S,
    COROUTINE_CLEANUP_S,
    MAIN_PROCESS_MARGIN_S,
    GracefulStop,
    retry_when,
)


class DramatiqHandler:
    """Stands for the signal handler Dramatiq's worker process installs."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.calls.append(signum)


class RecordingConsumer:
    """The part of Dramatiq's ConsumerThread GracefulStop uses."""

    def __init__(self) -> None:
        self.stopped = False
        self.requeued: list[str] = []

    def stop(self) -> None:
        self.stopped = True

    def requeue_messages(self, messages: Any) -> None:
        self.requeued.extend(m.message_id for m in messages)


class FakeWorker:
    def __init__(self) -> None:
        self.consumers = {"ingest": RecordingConsumer(), "ingest.DQ": RecordingConsumer()}


def _stop(drain_timeout_s: float = 60, **kwargs: Any) -> tuple[GracefulStop, list[bool]]:
    """A GracefulStop whose deadline records whether the worker had shut down."""
    deadlines: list[bool] = []
    stop = GracefulStop(drain_timeout_s, at_deadline=deadlines.append, **kwargs)
    return stop, deadlines


def _message(queue: str = "ingest") -> dramatiq.MessageProxy:
    return dramatiq.MessageProxy(
        Message(queue_name=queue, actor_name="ingest_document", args=(), kwargs={}, options={})
    )


@pytest.fixture
def restored_signals() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("restored_signals")
def test_repeated_stop_signals_start_one_drain_and_stop_every_consumer() -> None:
    dramatiq_handler = DramatiqHandler()
    signal.signal(signal.SIGTERM, dramatiq_handler)
    stop, _ = _stop()
    worker = FakeWorker()
    stop.after_process_boot(StubBroker())
    stop.before_worker_boot(StubBroker(), worker)  # type: ignore[arg-type]

    for signum in (signal.SIGTERM, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(signum)
        assert callable(handler)
        handler(signum, None)

    assert dramatiq_handler.calls == [signal.SIGTERM], "Dramatiq's stop runs once, never 'kill'"
    assert stop.stopping
    assert all(consumer.stopped for consumer in worker.consumers.values())


def test_a_message_taken_after_the_stop_goes_back_to_its_queue_untouched() -> None:
    stop, _ = _stop()
    worker = FakeWorker()
    stop.before_worker_boot(StubBroker(), worker)  # type: ignore[arg-type]
    before, after = _message(), _message()

    stop.before_process_message(StubBroker(), before)
    try:
        stop.request_stop(signal.SIGTERM)
        with pytest.raises(SkipMessage):
            stop.before_process_message(StubBroker(), after)
    finally:  # this thread must not be interrupted later, when the drain's timer fires
        stop.after_process_message(StubBroker(), before)

    assert worker.consumers["ingest"].requeued == [after.message_id]
    assert not after.failed


def test_a_consumer_booting_after_the_stop_stops_at_once() -> None:
    stop, _ = _stop()
    stop.request_stop(signal.SIGTERM)
    consumer = RecordingConsumer()

    stop.after_consumer_thread_boot(StubBroker(), consumer)  # type: ignore[arg-type]

    assert consumer.stopped


def test_a_stop_interrupts_tasks_still_running_before_the_deadline_then_calls_it() -> None:
    stop, deadlines = _stop(drain_timeout_s=0.6, interrupt_margin_s=0.4)
    assert (stop.interrupt_after_s, stop.exit_after_s) == (0.15, 0.3)
    interrupted = threading.Event()

    def running_task() -> None:
        stop.before_process_message(StubBroker(), _message())
        try:
            while True:
                time.sleep(0.01)
        except Shutdown:
            interrupted.set()

    thread = threading.Thread(target=running_task, daemon=True)
    thread.start()
    time.sleep(0.05)
    stop.request_stop(signal.SIGTERM)

    assert not interrupted.wait(0.1), "not before interrupt_after_s"
    assert interrupted.wait(2)
    time.sleep(0.5)
    assert deadlines == [False], "the worker had not shut down"


def test_the_deadline_of_a_worker_that_shut_down_says_so() -> None:
    stop, deadlines = _stop(drain_timeout_s=0.4)
    stop.request_stop(signal.SIGTERM)
    stop.after_worker_shutdown(StubBroker(), FakeWorker())  # type: ignore[arg-type]
    time.sleep(0.5)

    assert deadlines == [True]


def test_the_process_deadline_leaves_dramatiqs_main_process_time_to_exit() -> None:
    stop = GracefulStop(25.0)

    assert stop.exit_after_s == 25.0 - MAIN_PROCESS_MARGIN_S
    assert stop.interrupt_after_s == stop.exit_after_s - 5.0
    assert stop.exit_after_s < 25.0 - 2.0, "Dramatiq's main process needs up to 2 s more"


def test_a_short_drain_leaves_an_interrupted_coroutine_dramatiqs_whole_cleanup_wait() -> None:
    """4 s of drain leave 2 s to the process: interrupting 1 s before its deadline
    raced Dramatiq's own 1 s wait for the interrupted coroutine's cleanup (a worker that
    had shut down could meet its deadline first, exit status 1)."""
    stop = GracefulStop(4.0)

    assert stop.exit_after_s == 2.0
    assert stop.exit_after_s - stop.interrupt_after_s == COROUTINE_CLEANUP_S + CLOSE_S
    assert GracefulStop(7.0).interrupt_after_s == 2.0, "half the time left when it is more"


def test_a_finished_task_is_never_interrupted() -> None:
    stop, _ = _stop(drain_timeout_s=0.4, interrupt_margin_s=0.3)
    message = _message()
    stop.before_process_message(StubBroker(), message)
    stop.after_process_message(StubBroker(), message)
    stop.request_stop(signal.SIGTERM)
    try:
        time.sleep(0.3)
    except Shutdown:
        pytest.fail("the interrupt reached a thread whose task had finished")


def test_a_shutdown_is_always_retried_other_failures_only_while_retries_are_left() -> None:
    should_retry = retry_when(max_retries=2)

    assert should_retry(0, RuntimeError())
    assert should_retry(1, RuntimeError())
    assert not should_retry(2, RuntimeError())
    assert should_retry(2, Shutdown())
    assert should_retry(50, Shutdown())


def test_an_async_task_interrupted_at_the_deadline_is_re_enqueued_not_dead_lettered() -> None:
    broker = StubBroker()
    broker.add_middleware(AsyncIO())
    stop = GracefulStop(3.0, interrupt_margin_s=0.5, at_deadline=lambda _: None)
    broker.add_middleware(stop)
    started = threading.Event()
    cancelled = threading.Event()

    @dramatiq.actor(broker=broker, queue_name="ingest", retry_when=retry_when(0), min_backoff=10)
    async def long_task() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        long_task.send()
        assert started.wait(10)
        stop.request_stop(signal.SIGTERM)
        assert cancelled.wait(5), "the running coroutine was cancelled by the interrupt"
        delay_queue = broker.queues[dq_name("ingest")]
        deadline = time.monotonic() + 5
        while delay_queue.qsize() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop(timeout=5000)

    assert delay_queue.qsize() == 1, "Retries re-enqueued the interrupted message"
    assert broker.dead_letters == []
    retried = Message.decode(delay_queue.get_nowait())
    assert retried.options["retries"] == 1


_DEADLINE_SCRIPT = """
import signal, time
from avataradam.entrypoints.worker.shutdown import GracefulStop
stop = GracefulStop(0.5)
stop.request_stop(signal.SIGTERM)
time.sleep(30)
"""


def test_a_process_whose_worker_is_still_draining_at_the_deadline_exits_1() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _DEADLINE_SCRIPT], capture_output=True, timeout=20, check=False
    )
    took = time.monotonic() - started

    assert result.returncode == 1, result.stderr
    assert took < 15, "the 30 s sleep was cut short at the deadline"
    assert b"worker_exit_forced" in result.stdout + result.stderr
