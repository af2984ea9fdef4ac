"""Load generators: `wrk` for saturation, an open-loop fixed-rate client for latency.

Why our own fixed-rate client: Debian has `wrk` but not `wrk2`. A closed-loop tool
(wrk, ab, hey) waits for a response before sending the next request, so a stall
delays the requests that would have observed it and the stall vanishes from the
percentiles (coordinated omission). Here request *i* is scheduled at
`start + i / rate` whatever happened before, and its latency is measured from that
scheduled time: time spent waiting for a free connection or behind a slow response
counts. The client speaks raw HTTP/1.1 over keep-alive asyncio streams (uvloop), so
its own cost per request is a few tens of microseconds, small beside the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WRK_SCRIPT = Path(__file__).with_name("wrk_request.lua")


def build_request(
    method: str,
    path: str,
    *,
    host: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=2**22)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Sends one request; returns (status, body, keep_alive)."""
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = b""
        return status, body, headers.get("connection", "").lower() != "close"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class Run:
    """Latencies (ms) of one load run, with what went wrong."""

    latencies_ms: np.ndarray
    duration_s: float
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def count(self) -> int:
        return int(self.latencies_ms.size)

    @property
    def throughput(self) -> float:
        return self.count / self.duration_s if self.duration_s else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.count else float("nan")

    def summary(self) -> dict[str, float]:
        lat = self.latencies_ms
        return {
            "count": self.count,
            "errors": self.errors,
            "throughput_rps": round(self.throughput, 1),
            "mean_ms": round(float(lat.mean()), 3) if self.count else float("nan"),
            "p50_ms": round(self.pct(50), 3),
            "p90_ms": round(self.pct(90), 3),
            "p99_ms": round(self.pct(99), 3),
            "max_ms": round(float(lat.max()), 3) if self.count else float("nan"),
        }


class _Pool:
    def __init__(self, host: str, port: int, max_size: int) -> None:
        self.host, self.port, self.max_size = host, port, max_size
        self.idle: list[_Connection] = []
        self.size = 0
        self.freed = asyncio.Condition()

    async def acquire(self) -> _Connection:
        async with self.freed:
            while not self.idle and self.size >= self.max_size:
                await self.freed.wait()
            if self.idle:
                return self.idle.pop()
            self.size += 1
        try:
            return await _Connection.open(self.host, self.port)
        except BaseException:
            async with self.freed:
                self.size -= 1
                self.freed.notify()
            raise

    async def release(self, conn: _Connection, reusable: bool) -> None:
        async with self.freed:
            if reusable:
                self.idle.append(conn)
            else:
                conn.close()
                self.size -= 1
            self.freed.notify()

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


async def _one(pool: _Pool, request: bytes, keep_body: bool) -> tuple[int, bytes | None]:
    conn = await pool.acquire()
    ok = False
    try:
        status, body, keep_alive = await conn.exchange(request)
        ok = keep_alive
        return status, body if keep_body else None
    finally:
        await pool.release(conn, ok)


async def fixed_rate(
    host: str,
    port: int,
    requests: Sequence[bytes] | Callable[[int], bytes],
    *,
    rate: float,
    count: int,
    max_connections: int = 256,
    keep_bodies: bool = False,
    timeout_s: float = 30.0,
) -> Run:
    """Open loop: request i at start + i/rate; latency from that scheduled instant."""
    pool = _Pool(host, port, max_connections)
    latencies = np.full(count, np.nan)
    statuses: dict[int, int] = {}
    bodies: list[bytes] = []
    errors = 0

    def request_for(i: int) -> bytes:
        return requests(i) if callable(requests) else requests[i % len(requests)]

    async def send(i: int, scheduled: float) -> None:
        nonlocal errors
        try:
            status, body = await asyncio.wait_for(
                _one(pool, request_for(i), keep_bodies), timeout_s
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            errors += 1
            return
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 400:
            errors += 1
        if body is not None:
            bodies.append(body)
        latencies[i] = (time.perf_counter() - scheduled) * 1000

    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # Event-loop timers have millisecond granularity and may wake a little early:
        # a request sent before its slot is timed from when it was sent; a late one
        # (the generator fell behind) from its slot, so the lateness counts.
        origin = min(scheduled, time.perf_counter())
        tasks.append(asyncio.create_task(send(i, origin)))
    await asyncio.gather(*tasks)
    duration = time.perf_counter() - start
    pool.close()
    done = latencies[~np.isnan(latencies)]
    return Run(done, duration, errors, statuses, bodies)


async def closed_loop(
    targets: Sequence[tuple[str, int]],
    requests: Sequence[bytes],
    *,
    concurrency: int,
    keep_bodies: bool = False,
) -> Run:
    """Replays `requests` in order with `concurrency` clients; request j goes to
    target j % len(targets). For replays where total work, not a rate, is fixed."""
    latencies = np.full(len(requests), np.nan)
    statuses: dict[int, int] = {}
    bodies: list[bytes | None] = [None] * len(requests)
    errors = 0
    cursor = 0

    async def client() -> None:
        nonlocal cursor, errors
        conns: dict[int, _Connection] = {}
        while cursor < len(requests):
            j = cursor
            cursor += 1
            t = j % len(targets)
            try:
                if t not in conns:
                    conns[t] = await _Connection.open(*targets[t])
                began = time.perf_counter()
                status, body, keep_alive = await conns[t].exchange(requests[j])
                latencies[j] = (time.perf_counter() - began) * 1000
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                conns.pop(t).close()
                continue
            if not keep_alive:
                conns.pop(t).close()
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 400:
                errors += 1
            if keep_bodies:
                bodies[j] = body
        for conn in conns.values():
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    duration = time.perf_counter() - start
    done = latencies[~np.isnan(latencies)]
    return Run(done, duration, errors, statuses, [b for b in bodies if b is not None])


@dataclass(frozen=True)
class WrkResult:
    throughput_rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def wrk(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    duration_s: float = 5,
    connections: int = 32,
    threads: int = 1,
) -> WrkResult:
    """Closed-loop saturation with Debian's wrk; the Lua script sets method/body/headers."""
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_BODY": body.decode(),
        "WRK_HEADERS": "\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
    }
    completed = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "-s",
            str(WRK_SCRIPT),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = completed.stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    match = _NON2XX.search(out)
    return WrkResult(
        throughput_rps=float(data["requests"]) / (float(data["duration_us"]) / 1e6),
        requests=int(data["requests"]),
        non_2xx=int(match.group(1)) if match else 0,
        socket_errors=int(data["errors"]),
        p50_ms=float(data["p50_us"]) / 1000,
        p99_ms=float(data["p99_us"]) / 1000,
    )
