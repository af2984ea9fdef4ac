"""`AccountStates` cached in each process, dropped in every process at once on a change.

Every authenticated request needs the account's current state (active, dealership
active, role, session version). Reading PostgreSQL each time costs a round trip per
request; this wrapper keeps each state in the process for at most `ttl_s` seconds and
is told of changes over Redis pub/sub:

- `changed` drops the entries in this process at once, then PUBLISHes the change; every
  process subscribed to the channel drops them when the message arrives (within
  milliseconds: one hop through Redis), before it authenticates another request.
- Nothing is cached unless the subscription is live: while this process cannot hear
  broadcasts (starting, Redis down, reconnecting) every request reads the database.
  A (re)subscription drops everything, since messages sent meanwhile were lost.
- A read that overlapped a change is used for its request but never kept: each drop
  moves an epoch, and a state read under an older epoch is not stored. So a stale
  state is never cached after its broadcast was heard.
- `ttl_s` bounds what a lost broadcast can cost: a message lost without the
  connection noticing (a silently dead socket) keeps a stale entry that long at most.

Pub/sub channels are global to a Redis server, so the channel is named after the
Redis database: deployments sharing a server but not a database do not hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from uuid import UUID

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from avataradam.domain.model import AccountState
from avataradam.domain.ports.repositories.identity import AccountStates


class _Change(msgspec.Struct, frozen=True):
    users: list[UUID] = []
    dealership: UUID | None = None


def _ignore(event: str) -> None:
    """Default `on_event`: nothing to report."""


class CachedAccountStates:
    """Implements AccountStates over `inner` with a per-process cache (see module doc).

    `start` subscribes (a background task that reconnects by itself) and `stop` ends
    it. `on_event` hears `broadcast_failed`, `subscribed` and `unsubscribed` for logs
    and metrics.
    """

    def __init__(
        self,
        inner: AccountStates,
        redis: aioredis.Redis,
        *,
        ttl_s: float,
        max_entries: int = 100_000,
        reconnect_delay_s: float = 1.0,
        on_event: Callable[[str], None] = _ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._redis = redis
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._reconnect_delay_s = reconnect_delay_s
        self._on_event = on_event
        self._clock = clock
        db = redis.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"avataradam:{db}:account-changes"
        self._entries: OrderedDict[UUID, tuple[float, AccountState]] = OrderedDict()
        self._epoch = 0
        self._live = False
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def live(self) -> bool:
        """Whether broadcasts are heard, i.e. whether states are being cached."""
        return self._live

    async def get(self, user_id: UUID) -> AccountState | None:
        entry = self._entries.get(user_id)
        if entry is not None:
            if entry[0] > self._clock():
                return entry[1]
            del self._entries[user_id]
        epoch = self._epoch
        state = await self._inner.get(user_id)
        if state is not None and self._live and epoch == self._epoch:
            self._entries[user_id] = (self._clock() + self._ttl_s, state)
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return state

    async def changed(
        self, *, user_ids: Sequence[UUID] = (), dealership_id: UUID | None = None
    ) -> None:
        self._drop(user_ids, dealership_id)
        message = msgspec.json.encode(_Change(users=list(user_ids), dealership=dealership_id))
        try:
            await self._redis.publish(self.channel, message)
        except (RedisError, OSError):
            # The change is committed; other processes drop it within `ttl_s`.
            self._on_event("broadcast_failed")

    def _drop(self, user_ids: Sequence[UUID], dealership_id: UUID | None) -> None:
        self._epoch += 1
        for user_id in user_ids:
            self._entries.pop(user_id, None)
        if dealership_id is not None:
            stale = [k for k, (_, s) in self._entries.items() if s.dealership_id == dealership_id]
            for user_id in stale:
                del self._entries[user_id]

    def _drop_all(self) -> None:
        self._epoch += 1
        self._entries.clear()

    async def start(self) -> None:
        """Subscribes in the background and waits (2 s at most) for the subscription,
        so that a freshly started process caches from its first requests."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="account-changes")
        # Redis unreachable: requests read the database until it is back.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=2.0)

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Ends the subscription; waits `timeout_s` at most (a connection that Redis
        stopped answering must not hold a process's shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=timeout_s)

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                pass
            finally:
                if self._live:
                    self._on_event("unsubscribed")
                self._live = False
                self._drop_all()
            await asyncio.sleep(self._reconnect_delay_s)

    async def _listen_once(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    await pubsub.ping()  # a dead connection fails here, not silently
                    continue
                kind = message.get("type")
                if kind == "subscribe":
                    # First subscription, or redis-py resubscribed after a reconnect:
                    # anything broadcast in between was lost.
                    self._drop_all()
                    self._live = True
                    self._subscribed.set()
                    self._on_event("subscribed")
                elif kind == "message":
                    try:
                        change = msgspec.json.decode(message["data"], type=_Change)
                    except msgspec.DecodeError:
                        self._drop_all()  # not ours to read: safe side
                    else:
                        self._drop(change.users, change.dealership)
        finally:
            # Closing unsubscribes over the connection: bounded, for a connection that
            # Redis stopped answering (restarted, flushed clients); then dropped.
            try:
                await asyncio.wait_for(pubsub.aclose(), timeout=1.0)  # type: ignore[no-untyped-call]
            except (TimeoutError, RedisError, OSError):
                connection = pubsub.connection
                if connection is not None:
                    await connection.disconnect(nowait=True)
