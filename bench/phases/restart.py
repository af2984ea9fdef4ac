"""Restart to ready: API and worker, in seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from bench import documents
from bench.harness import Account, Bench, spread
from bench.stack import Server

# --------------------------------------------------------------------------- restart


def _poll_seconds(check: Callable[[], bool], since: float, timeout_s: float = 180) -> float:
    """Seconds from `since` until `check()` first holds (polled every 20 ms)."""
    while not check():
        if time.perf_counter() - since > timeout_s:
            raise RuntimeError(f"not reached in {timeout_s} s")
        time.sleep(0.02)
    return time.perf_counter() - since


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _restart_api(b: Bench, n: int) -> dict[str, float]:
    """A new `avataradam serve` (local embedder): spawn -> listening -> ready."""
    started = time.perf_counter()
    server = b.start_server(f"api-restart-{n}", None, wait=False, AVATARADAM_HTTP_SERVER="granian")
    try:
        live = _poll_seconds(lambda: _answers(f"{server.base_url}/health/live"), started)
        ready = _poll_seconds(lambda: _answers(f"{server.base_url}/health/ready"), started)
    finally:
        b.stop(server)
    return {"listening_s": live, "ready_s": ready}


def _document_status(api: Server, account: Account, document_id: str) -> str:
    response = httpx.get(
        f"{api.base_url}/v1/documents/{document_id}", headers=account.auth, timeout=5
    )
    return str(response.json()["status"])


def _restart_worker(b: Bench, api: Server, n: int) -> dict[str, float]:
    """A document waits in the queue; a new `avataradam worker` (local embedder) starts:
    spawn -> "ready for action" logged -> the document is taken (`processing`)."""
    if b.worker is not None:
        b.stop(b.worker)
    admin = b.tenants[0].admin
    text = "\n\n".join(documents.paragraphs(4, seed=900 + n)).encode()
    with httpx.Client(base_url=api.base_url, timeout=60) as http:
        response = http.post(
            "/v1/documents",
            files={"file": (f"restart-{n}.txt", text, "text/plain")},
            data={"topic": "playbooks"},
            headers=admin.auth,
        )
    response.raise_for_status()
    document_id = str(response.json()["id"])
    started = time.perf_counter()
    process = b.start_worker(f"worker-restart-{n}")
    ready = _poll_seconds(lambda: "ready for action" in process.tail(200_000), started)
    taken = _poll_seconds(lambda: _document_status(api, admin, document_id) != "queued", started)
    return {"ready_s": ready, "first_task_s": taken, "first_task_after_ready_s": taken - ready}


def phase_restart(b: Bench, api: Server) -> None:
    """Restart to ready (issue 12): seconds from the spawn of an API instance until it
    listens and until `/health/ready` answers 200 (embedder warm), and from the spawn of
    a worker until it says it is ready and until it takes a waiting document. The API
    warms in the background while it listens; the worker warms before it consumes, so
    its first task follows its "ready" at once."""
    apis = [_restart_api(b, n) for n in range(b.q(3, 1))]
    workers = [_restart_worker(b, api, n) for n in range(b.q(3, 1))]
    b.results["restart"] = {
        "embedder": "local all-MiniLM-L6-v2",
        "api": {key: spread([run[key] for run in apis]) for key in apis[0]},
        "worker": {key: spread([run[key] for run in workers]) for key in workers[0]},
    }
