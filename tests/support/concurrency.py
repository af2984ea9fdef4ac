"""Many identical requests at once, over several real API processes.

`api_servers` starts `avataradam serve` processes on one database and Redis (with the
process starters of `processes.py`); `race` sends requests so that they arrive
together: every request gets its own client whose connection is already open and whose
request is already encoded, and an `asyncio.Barrier` releases them all at once,
alternating between the servers. What the server does with simultaneous requests
(row locks, unique indexes, idempotency keys) is then what decides the outcome, not
the order in which a test happened to send them. A result reports each answer with
the server that gave it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ops.harness.processes import free_port, wait_until_healthy
from tests.support.processes import ServiceProcess

Call = Callable[[httpx.AsyncClient], httpx.Request]
"""Builds one request on a client whose `base_url` is the server it goes to."""


@contextmanager
def api_servers(env: Mapping[str, str], log_dir: Path, count: int = 2) -> Iterator[list[str]]:
    """`count` API processes with `env` (each on a free port); yields their base URLs
    once all are healthy and stops them (checking their logs for secrets) after."""
    processes: list[ServiceProcess] = []
    urls: list[str] = []
    try:
        for index in range(count):
            port = free_port()
            server_env = {**env, "AVATARADAM_HTTP_PORT": str(port)}
            log = log_dir / f"api-{index}.log"
            processes.append(ServiceProcess(["serve"], server_env, log).start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_until_healthy(url, process, timeout_s=60)
        yield urls
    finally:
        for process in processes:
            process.stop()


@dataclass(frozen=True)
class Raced:
    """The answers of one race, in the order the calls were given."""

    responses: list[httpx.Response]
    servers: list[str]

    @property
    def statuses(self) -> Counter[int]:
        return Counter(response.status_code for response in self.responses)

    def with_status(self, status: int) -> list[httpx.Response]:
        return [r for r in self.responses if r.status_code == status]

    def bodies(self) -> list[Any]:
        return [response.json() for response in self.responses]


async def race(urls: Sequence[str], calls: Sequence[Call], *, timeout_s: float = 60) -> Raced:
    """Sends `calls[i]` to `urls[i % len(urls)]`, all released together."""
    barrier = asyncio.Barrier(len(calls))
    servers = [urls[index % len(urls)] for index in range(len(calls))]

    async def one(url: str, call: Call) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as client:
            warm = await client.get("/health/live")  # opens the connection the call reuses
            warm.raise_for_status()
            request = call(client)
            await barrier.wait()
            response = await client.send(request)
            await response.aread()
            return response

    responses = await asyncio.gather(*(one(u, c) for u, c in zip(servers, calls, strict=True)))
    return Raced(responses=list(responses), servers=servers)


def same(call: Call, times: int) -> list[Call]:
    """`times` identical calls."""
    return [call] * times
