"""Idempotency keys: a request's first answer, replayed to every repeat of it.

A client sends `Idempotency-Key` with a creating request and the same key on every
retry of that request (draft-ietf-httpapi-idempotency-key-header). The key is claimed
with the answer in the same transaction as the change it guards, so the change and its
remembered answer commit together or not at all: a repeat never makes a second change.
A repeat that arrives while the first request is still running waits for it (the claim
is a unique row, and PostgreSQL makes a second claim wait for the first's transaction)
and then replays its answer. The answer is kept as first given, whatever happens to the
object later: a replay says what the first request did; reading the object says what
it is now (404 once deleted).

Only successful answers are kept: a refused request leaves no key behind, so fixing
the request and retrying with the same key is fine. Keys live for
`AVATARADAM_HTTP_IDEMPOTENCY_KEY_TTL_S` (24 h by default) and are then purged by the
worker; a key used again after that is a new request.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import msgspec

from avataradam.domain.errors import IdempotencyKeyReused
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock

T = TypeVar("T")


class IdempotentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A client's key for one request.

    `scope` names the operation and whose keys these are (e.g. `documents:<dealership
    id>`); `fingerprint` is the same for two requests exactly when they ask for the same
    thing, so a key reused for something else is refused, not replayed.
    """

    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, scope: str, key: str | None, request: object) -> IdempotentRequest | None:
        """None without a key; else the key with the SHA-256 of `request` as JSON."""
        if key is None:
            return None
        digest = hashlib.sha256(msgspec.json.encode(request, order="sorted")).hexdigest()
        return cls(scope=scope, key=key, fingerprint=digest)


class Answer(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """What a creating use case answers: the object, and whether this is a replay."""

    value: T
    replayed: bool = False


async def first_answer(
    uow: UnitOfWork,
    request: IdempotentRequest | None,
    answer: T,
    *,
    status_code: int,
    now: datetime,
) -> Answer[T] | None:
    """Claims `request`'s key for `answer` in `uow`'s transaction.

    Returns None when this request is the key's first (its answer commits with the
    unit of work), or the replayed first answer when it is a repeat. Raises
    IdempotencyKeyReused when the key was first used for a different request. Call it
    before the change it guards, so a repeat waits here rather than after doing work.
    """
    if request is None:
        return None
    stored = await uow.idempotency.claim(
        request.scope,
        request.key,
        request.fingerprint,
        status_code,
        msgspec.json.encode(answer),
        now,
    )
    if stored is None:
        return None
    if stored.request_hash != request.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was first used for a different request; "
            "use a new key for a new request",
            field="Idempotency-Key",
        )
    return Answer(value=msgspec.json.decode(stored.body, type=type(answer)), replayed=True)


class PurgeIdempotencyKeys:
    """Forgets keys older than `ttl` (a periodic duty of the worker); returns how many."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ttl: timedelta) -> None:
        self._uow, self._clock, self._ttl = uow, clock, ttl

    async def __call__(self) -> int:
        async with self._uow() as uow:
            purged = await uow.idempotency.delete_before(self._clock.now() - self._ttl)
            await uow.commit()
        return purged
