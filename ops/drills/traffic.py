"""Client-side load of the failover drills: writes whose acknowledgements are recorded,
reads, and the times they tell.

Every acknowledged write is kept with the moment it was sent and the moment its answer
came, so that after a fault a drill can ask when the first write *sent after it* was
acknowledged (the end-to-end recovery time seen by a client) and check that every
acknowledged id is still in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import httpx

HTTP_OK, HTTP_CREATED, HTTP_ACCEPTED = 200, 201, 202


@dataclass(frozen=True)
class Ack:
    sent: float
    """`time.monotonic()` when the request was sent."""
    acked: float
    """`time.monotonic()` when its success answer arrived."""
    ident: UUID


@dataclass
class Traffic:
    """What one kind of write (and the reads beside it) saw."""

    acknowledged: list[Ack] = field(default_factory=list)
    write_errors: list[tuple[float, str]] = field(default_factory=list)
    reads: int = 0
    read_errors: list[tuple[float, str]] = field(default_factory=list)

    def ids(self) -> list[UUID]:
        return [ack.ident for ack in self.acknowledged]

    def acknowledged_since(self, moment: float) -> bool:
        """Whether a write sent at or after `moment` has been acknowledged."""
        return any(ack.sent >= moment for ack in reversed(self.acknowledged))

    def recovery_s(self, moment: float) -> float | None:
        """Seconds from `moment` to the acknowledgement of the first write sent at or
        after it (None: none yet)."""
        acks = [ack.acked for ack in self.acknowledged if ack.sent >= moment]
        return min(acks) - moment if acks else None


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
"""Sends write number n (from 1) and answers the HTTP response."""


async def keep_writing(
    client: httpx.AsyncClient,
    send: Send,
    stop: asyncio.Event,
    traffic: Traffic,
    *,
    success: int = HTTP_CREATED,
    interval_s: float = 0.0,
    pause_s: float = 0.02,
) -> None:
    """Sends writes one after another until `stop`; an answer `success` with an `id`
    is acknowledged, anything else (a status, a transport error) is a write error.
    The next write follows `interval_s` after a success, `pause_s` after an error."""
    sequence = 0
    while not stop.is_set():
        sent = time.monotonic()
        sequence += 1
        try:
            response = await send(client, sequence)
        except httpx.HTTPError as exc:
            traffic.write_errors.append((sent, type(exc).__name__))
        else:
            if response.status_code == success:
                traffic.acknowledged.append(
                    Ack(sent, time.monotonic(), UUID(response.json()["id"]))
                )
                await asyncio.sleep(interval_s)
                continue
            traffic.write_errors.append((sent, str(response.status_code)))
        await asyncio.sleep(pause_s)


def dealership_writes(headers: dict[str, str], tag: str) -> Send:
    """`POST /v1/dealerships` as a super admin: one small row per write."""

    async def send(client: httpx.AsyncClient, sequence: int) -> httpx.Response:
        return await client.post(
            "/v1/dealerships", json={"name": f"{tag}-{sequence}"}, headers=headers
        )

    return send


async def keep_reading(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stop: asyncio.Event,
    traffic: Traffic,
    *,
    pause_s: float = 0.01,
) -> None:
    """Lists dealerships until `stop` (read-only: served by the replica when there is one)."""
    while not stop.is_set():
        sent = time.monotonic()
        try:
            response = await client.get("/v1/dealerships", params={"limit": 5}, headers=headers)
        except httpx.HTTPError as exc:
            traffic.read_errors.append((sent, type(exc).__name__))
        else:
            traffic.reads += 1
            if response.status_code != HTTP_OK:
                traffic.read_errors.append((sent, str(response.status_code)))
        await asyncio.sleep(pause_s)


def document_uploads(headers: dict[str, str], tag: str) -> Send:
    """`POST /v1/documents` as a dealership admin: a small text file, distinct each time
    (a worker ingests it; the answer is 202 once file, row and outbox entry are stored)."""

    async def send(client: httpx.AsyncClient, sequence: int) -> httpx.Response:
        name = f"{tag}-{sequence}"
        text = f"Credit life insurance pays the loan if the borrower dies ({name}).\n" * 40
        return await client.post(
            "/v1/documents",
            files={"file": (f"credit-life-{name}.txt", text.encode(), "text/plain")},
            data={"topic": "books"},
            headers=headers,
        )

    return send
