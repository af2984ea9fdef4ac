"""Graceful shutdown: SIGTERM to an API instance and to a worker in the middle of work.

API part (`avataradam serve`, with uvicorn (`timeout_graceful_shutdown=30`) and with
granian, the default server): each trial
opens slow SSE chat replies (the extractive model paced by
`AVATARADAM_CHAT_EXTRACTIVE_DELTA_DELAY_S`) and slow uploads (bodies trickling in over
seconds), and sends SIGTERM to the server's pid once every reply has streamed its
first delta and every upload has sent part of its body. A prober opens a new
connection every few milliseconds from the signal until the process is gone.
Promises:

- every in-flight reply streams to its `done` event and is stored (user + assistant
  message in PostgreSQL); every in-flight upload is acknowledged (202) and its
  document later becomes ready;
- no new request is served later than `ACCEPT_GRACE_S` after the signal (the server
  checks its exit flag every 0.1 s); new ones are refused or answered 503;
- the process exits 0 within the grace period.

Worker part: a large document is `processing` when the worker is stopped in one of
the ways operators and their tools stop it (`WORKER_STOPS`): SIGTERM to Dramatiq's main
process only (`pid`, as an orchestrator signals a container's PID 1), to the whole
process group (`group`, as systemd's default KillMode=control-group and `kill -- -PGID`
do: the worker process gets the signal twice, directly and forwarded), SIGINT to the
group (`ctrl-c`, a terminal's Ctrl-C), or SIGTERM to the group twice, a second apart
(`twice`, an impatient operator). Right after the signal a small document is uploaded.
Promises: the worker exits 0 within its drain deadline
(`AVATARADAM_WORKER_DRAIN_TIMEOUT_S`); it finishes the running document if it can
within the deadline, else that document is re-enqueued; it takes no new message, so
the late document is still `queued` when it exits; a fresh worker then makes both
`ready` exactly once (no duplicate rows), and neither is ever `failed`.

Run: `.venv/bin/python -m ops.drills.api_sigterm --trials 3` (part of `just drill`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from ops.drills.app import AppProcess
from ops.drills.stack import (
    HTTP_ACCEPTED,
    HTTP_CREATED,
    HTTP_OK,
    DealershipAdmin,
    Stack,
    large_pdf,
    small_document,
    summary,
)

ACCEPT_GRACE_S = 0.5
GRACE_PERIOD_S = 30.0
DELTA_DELAY_S = 0.1
UPLOAD_TRICKLE_S = 2.0
WORKER_SETTLE_TIMEOUT_S = 120.0
SERVERS = ("uvicorn", "granian")


@dataclass
class Outcomes:
    """What the clients saw, with times relative to the signal."""

    streams_completed: int = 0
    streams_failed: list[str] = field(default_factory=list)
    uploads_accepted: list[str] = field(default_factory=list)
    uploads_failed: list[str] = field(default_factory=list)
    probes: list[tuple[float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ApiResult:
    trial: int
    server: str
    streams: int
    streams_completed: int
    replies_stored: int
    uploads: int
    uploads_accepted: int
    uploads_ready: int
    served_after_s: float | None
    last_served_s: float | None
    refused: int
    unavailable: int
    late_served: int
    exit_code: int | None
    exit_s: float | None

    @property
    def passed(self) -> bool:
        return (
            self.streams_completed == self.replies_stored == self.streams
            and self.uploads_accepted == self.uploads_ready == self.uploads
            and self.late_served == 0
            and self.exit_code == 0
            and self.exit_s is not None
            and self.exit_s <= GRACE_PERIOD_S
        )


def _group_sigterm_twice(pid: int) -> None:
    os.killpg(pid, signal.SIGTERM)
    time.sleep(1.0)
    os.killpg(pid, signal.SIGTERM)


WORKER_STOPS: dict[str, Callable[[int], None]] = {
    "pid": lambda pid: os.kill(pid, signal.SIGTERM),
    "group": lambda pid: os.killpg(pid, signal.SIGTERM),
    "ctrl-c": lambda pid: os.killpg(pid, signal.SIGINT),
    "twice": _group_sigterm_twice,
}
"""How each variant stops a worker, given the pid (and process group id) of its main
process."""


@dataclass(frozen=True)
class WorkerResult:
    trial: int
    variant: str
    stage_at_signal: str
    exit_code: int | None
    exit_s: float | None
    finished_before_exit: bool
    late_status_at_exit: str
    """The document uploaded just after the signal, when the worker had exited."""
    ready_s: float | None
    exactly_once: bool
    attempts: int

    @property
    def passed(self) -> bool:
        return (
            self.ready_s is not None
            and self.exactly_once
            and self.exit_code == 0
            and self.late_status_at_exit == "queued"
        )


async def _stream_reply(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    conversation_id: str,
    first_delta: asyncio.Event,
    outcomes: Outcomes,
) -> None:
    event = ""
    try:
        async with http.stream(
            "POST",
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": "How do I explain GAP to a customer who already has insurance?"},
            headers=headers | {"Accept": "text/event-stream"},
        ) as response:
            if response.status_code != HTTP_OK:
                outcomes.streams_failed.append(f"status {response.status_code}")
                first_delta.set()
                return
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                    if event == "delta":
                        first_delta.set()
                    elif event == "done":
                        outcomes.streams_completed += 1
                        return
                    elif event == "error":
                        outcomes.streams_failed.append("error event")
                        return
        outcomes.streams_failed.append(f"stream ended after {event or 'nothing'}")
    except httpx.HTTPError as exc:
        outcomes.streams_failed.append(type(exc).__name__)
    finally:
        first_delta.set()


def _multipart(filename: str, topic: str) -> tuple[str, bytes, bytes]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="topic"\r\n\r\n{topic}\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    return boundary, head, f"\r\n--{boundary}--\r\n".encode()


async def _slow_upload(
    http: httpx.AsyncClient,
    admin: DealershipAdmin,
    tag: str,
    started: asyncio.Event,
    outcomes: Outcomes,
) -> None:
    """A multipart upload whose body trickles in over UPLOAD_TRICKLE_S."""
    content, filename = small_document(tag)
    boundary, head, tail = _multipart(filename, "product_knowledge")
    pieces = 10
    step = len(content) // pieces + 1

    async def body() -> AsyncIterator[bytes]:
        yield head
        for start in range(0, len(content), step):
            yield content[start : start + step]
            started.set()
            await asyncio.sleep(UPLOAD_TRICKLE_S / pieces)
        yield tail

    try:
        response = await http.post(
            "/v1/documents",
            content=body(),
            headers=admin.headers
            | {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + len(content) + len(tail)),
            },
        )
    except httpx.HTTPError as exc:
        outcomes.uploads_failed.append(type(exc).__name__)
    else:
        if response.status_code == HTTP_ACCEPTED:
            outcomes.uploads_accepted.append(str(response.json()["id"]))
        else:
            outcomes.uploads_failed.append(f"status {response.status_code}")
    finally:
        started.set()


async def _probe_until_exit(
    base_url: str, api: AppProcess, signalled_at: float, outcomes: Outcomes
) -> None:
    """New connections, one at a time, until the server process has exited."""
    process = api.process
    while process is not None and process.poll() is None:
        sent = time.monotonic() - signalled_at
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=2) as fresh:
                response = await fresh.get("/health/live")
        except httpx.ConnectError:
            outcome = "refused"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        else:
            outcome = str(response.status_code)
        outcomes.probes.append((sent, outcome))
        await asyncio.sleep(0.01)


async def _api_trial_traffic(
    api: AppProcess, admin: DealershipAdmin, *, streams: int, uploads: int
) -> tuple[Outcomes, list[str], float]:
    outcomes = Outcomes()
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
        conversations = []
        for _ in range(streams):
            created = await http.post(
                "/v1/conversations", json={"mode": "training"}, headers=admin.headers
            )
            if created.status_code != HTTP_CREATED:
                raise RuntimeError(f"could not start a conversation: {created.text}")
            conversations.append(str(created.json()["id"]))
        ready = [asyncio.Event() for _ in range(streams + uploads)]
        tasks = [
            asyncio.create_task(_stream_reply(http, admin.headers, c, ready[n], outcomes))
            for n, c in enumerate(conversations)
        ] + [
            asyncio.create_task(
                _slow_upload(http, admin, uuid.uuid4().hex[:8], ready[streams + n], outcomes)
            )
            for n in range(uploads)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 30)
        if api.process is None:
            raise RuntimeError("the API is not running")
        signalled_at = time.monotonic()
        os.kill(api.process.pid, signal.SIGTERM)
        prober = asyncio.create_task(_probe_until_exit(api.base_url, api, signalled_at, outcomes))
        await asyncio.gather(*tasks)
        await prober
    return outcomes, conversations, signalled_at


def _replies_stored(stack: Stack, conversations: list[str]) -> int:
    with psycopg.connect(stack.database.url) as conn:
        rows = conn.execute(
            """
            SELECT conversation_id FROM messages WHERE conversation_id = ANY(%s)
            GROUP BY conversation_id
            HAVING count(*) FILTER (WHERE role = 'user') = 1
               AND count(*) FILTER (WHERE role = 'assistant') = 1
            """,
            ([uuid.UUID(c) for c in conversations],),
        ).fetchall()
    return len(rows)


SLOW_REPLIES = {"AVATARADAM_CHAT_EXTRACTIVE_DELTA_DELAY_S": str(DELTA_DELAY_S)}


def run_api_trial(
    trial: int, stack: Stack, *, server: str, streams: int, uploads: int
) -> ApiResult:
    """SIGTERMs a new API instance served by `server` (uvicorn or granian)."""
    api = stack.start_api(**SLOW_REPLIES, AVATARADAM_HTTP_SERVER=server)
    admin = stack.new_dealership_admin()
    outcomes, conversations, signalled_at = asyncio.run(
        _api_trial_traffic(api, admin, streams=streams, uploads=uploads)
    )
    exit_code: int | None = None
    exit_s: float | None = None
    if api.process is not None:
        try:
            exit_code = api.process.wait(GRACE_PERIOD_S + 10)
            exit_s = time.monotonic() - signalled_at
        except Exception:  # noqa: BLE001 -- a hung server is a result, then cleaned up
            api.stop()
    settled = stack.wait_until_settled(
        outcomes.uploads_accepted, WORKER_SETTLE_TIMEOUT_S, since=time.monotonic()
    )
    served = [t for t, outcome in outcomes.probes if outcome == str(HTTP_OK)]
    return ApiResult(
        trial=trial,
        server=server,
        streams=streams,
        streams_completed=outcomes.streams_completed,
        replies_stored=_replies_stored(stack, conversations),
        uploads=uploads,
        uploads_accepted=len(outcomes.uploads_accepted),
        uploads_ready=sum(
            stack.database.stored(i).exactly_one_set for i, at in settled.items() if at is not None
        ),
        served_after_s=min(served) if served else None,
        last_served_s=max(served) if served else None,
        refused=sum(outcome == "refused" for _, outcome in outcomes.probes),
        unavailable=sum(outcome == "503" for _, outcome in outcomes.probes),
        late_served=sum(t > ACCEPT_GRACE_S for t in served),
        exit_code=exit_code,
        exit_s=exit_s,
    )


def _wait_for_line(path: Path, needle: str, *, timeout_s: float) -> bool:
    """Whether a line holding `needle` appears in the log at `path` within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.02)
    return False


def run_worker_trial(
    trial: int,
    stack: Stack,
    *,
    variant: str,
    run_s: float,
    document: Callable[[], tuple[bytes, str]] = large_pdf,
) -> WorkerResult:
    """Stops the stack's last worker (`WORKER_STOPS[variant]`) while it ingests
    `document`, uploads a small one right after the signal, then lets a fresh worker
    finish what is left."""
    admin = stack.new_dealership_admin()
    content, filename = document()
    document_id = stack.upload(admin, content, filename, "books")
    stack.wait_until_processing(admin, document_id)
    time.sleep(run_s)
    worker = stack.workers[-1]
    stage = stack.database.stored(document_id)
    signalled_at = time.monotonic()
    stop = threading.Thread(target=WORKER_STOPS[variant], args=(worker.pid,))
    stop.start()
    # "After the signal" is once the worker has taken it in: uploaded sooner, the late
    # document could be fetched by the idle worker thread before the handler ran.
    _wait_for_line(worker.log_path, '"event":"worker_stopping"', timeout_s=5.0)
    late_content, late_filename = small_document(uuid.uuid4().hex[:8])
    late_id = stack.upload(admin, late_content, late_filename, "product_knowledge")
    stop.join()
    exit_code = worker.wait(GRACE_PERIOD_S * 2)
    exit_s = time.monotonic() - signalled_at if exit_code is not None else None
    if exit_code is None:
        worker.kill_group()
    finished = stack.database.stored(document_id).status == "ready"
    late_at_exit = stack.database.stored(late_id).status
    stack.start_worker()
    both = [document_id, late_id]
    settled = stack.wait_until_settled(both, WORKER_SETTLE_TIMEOUT_S, since=signalled_at)
    counts = [stack.database.stored(i) for i in both]
    times = [t for t in settled.values() if t is not None]
    return WorkerResult(
        trial=trial,
        variant=variant,
        stage_at_signal=f"{stage.status}/{stage.stage or '-'}",
        exit_code=exit_code,
        exit_s=exit_s,
        finished_before_exit=finished,
        late_status_at_exit=late_at_exit,
        ready_s=max(times) if len(times) == len(both) else None,
        exactly_once=all(c.exactly_one_set for c in counts),
        attempts=counts[0].attempts,
    )


def _seconds(value: float | None, width: int = 7) -> str:
    return f"{value:{width}.2f}" if value is not None else "-".rjust(width)


def render_api(results: list[ApiResult]) -> str:
    header = (
        f"{'trial':>5} {'server':>7} {'streams ok/stored/n':>19} {'uploads 202/ready/n':>19} "
        f"{'refused':>7} {'503':>4} {'last 200 s':>10} {'late':>4} {'exit':>4} {'exit s':>7}"
    )
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r.trial:>5} {r.server:>7} {f'{r.streams_completed}/{r.replies_stored}/{r.streams}':>19} "
        f"{f'{r.uploads_accepted}/{r.uploads_ready}/{r.uploads}':>19} {r.refused:>7} "
        f"{r.unavailable:>4} {_seconds(r.last_served_s, 10)} {r.late_served:>4} "
        f"{r.exit_code if r.exit_code is not None else '-':>4} {_seconds(r.exit_s)}"
        for r in results
    )
    for server in dict.fromkeys(r.server for r in results):
        exits = [r.exit_s for r in results if r.server == server and r.exit_s is not None]
        lines.append(f"{server}: SIGTERM -> exit: {summary(exits)} (grace {GRACE_PERIOD_S:.0f} s)")
    lines.append(
        f"in-flight requests completed during shutdown: "
        f"{sum(r.streams_completed + r.uploads_accepted for r in results)} of "
        f"{sum(r.streams + r.uploads for r in results)}; new connections after the signal: "
        f"{sum(r.refused for r in results)} refused, {sum(r.unavailable for r in results)} "
        f"503, {sum(r.late_served for r in results)} served later than {ACCEPT_GRACE_S} s"
    )
    return "\n".join(lines)


def render_worker(results: list[WorkerResult]) -> str:
    header = (
        f"{'trial':>5} {'signal':>6} {'stage at signal':>22} {'exit':>4} {'exit s':>7} "
        f"{'finished':>8} {'late at exit':>12} {'ready s':>7} {'once':>5} {'tries':>5}"
    )
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r.trial:>5} {r.variant:>6} {r.stage_at_signal:>22} "
        f"{r.exit_code if r.exit_code is not None else '-':>4} {_seconds(r.exit_s)} "
        f"{'yes' if r.finished_before_exit else 'no':>8} {r.late_status_at_exit:>12} "
        f"{_seconds(r.ready_s)} {'yes' if r.exactly_once else 'NO':>5} {r.attempts:>5}"
        for r in results
    )
    lines.append(
        "finished = ready before the worker exited (else re-enqueued for the next worker); "
        "late = uploaded just after the signal (must still be queued); once = both ready "
        "with exactly one chunk and vector row per chunk"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=3, help="trials of each part")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--worker-run-s", type=float, default=1.0)
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    args = parser.parse_args(argv)
    api_results: list[ApiResult] = []
    worker_results: list[WorkerResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir,
        Stack(Path(workdir), extra_env={"AVATARADAM_INGESTION_LEASE_S": "30"}) as stack,
    ):
        stack.start_worker()
        trial = 0
        for server in args.servers:
            for _ in range(args.trials):
                trial += 1
                result = run_api_trial(
                    trial, stack, server=server, streams=args.streams, uploads=args.uploads
                )
                api_results.append(result)
                print(f"api trial {trial}: {result}", flush=True)  # noqa: T201 -- progress
        stack.start_api()
        trial = 0
        for variant in WORKER_STOPS:
            for _ in range(args.trials):
                trial += 1
                outcome = run_worker_trial(trial, stack, variant=variant, run_s=args.worker_run_s)
                worker_results.append(outcome)
                print(f"worker trial {trial}: {outcome}", flush=True)  # noqa: T201
    print(render_api(api_results))  # noqa: T201 -- the drill's report
    print()  # noqa: T201
    print(render_worker(worker_results))  # noqa: T201
    ok = all(r.passed for r in api_results) and all(r.passed for r in worker_results)
    return 0 if ok and api_results and worker_results else 1


if __name__ == "__main__":
    sys.exit(main())
