"""Single flight over the shared cache: a missing key is computed once across every
instance, the others wait for its value (the retrieval and the answer caches).

`SharedValues` holds what the two caches share: the msgpack encoding of their values and
the waits of `single_flight`."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import msgspec

from avataradam.domain.ports.services import Cache, CacheUnavailable
from avataradam.domain.ports.system import Clock

T = TypeVar("T")


class Waits(Protocol):
    """How long a computing request holds its lock (`lock_ttl_s`, after which a crashed
    holder's lock expires), how long others wait for its value (`wait_for_peer_s`, then
    they compute it themselves), and how often they look (`poll_interval_s`)."""

    @property
    def lock_ttl_s(self) -> float: ...
    @property
    def wait_for_peer_s(self) -> float: ...
    @property
    def poll_interval_s(self) -> float: ...


class SharedValues(Generic[T]):
    """Values of `value_type` in the shared cache, msgpack-encoded, kept `ttl_s` seconds,
    each computed once across instances (`single_flight`)."""

    def __init__(
        self, cache: Cache, clock: Clock, value_type: type[T], *, ttl_s: int, waits: Waits
    ) -> None:
        self._cache, self._clock, self._ttl_s, self._waits = cache, clock, ttl_s, waits
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(value_type)

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> tuple[T, str]:
        """(value, outcome) as `single_flight` answers them; raises what `compute` raises."""
        return await single_flight(
            self._cache,
            key,
            compute,
            encode=self._encoder.encode,
            decode=self._decoder.decode,
            clock=self._clock,
            ttl_s=self._ttl_s,
            lock_ttl_s=self._waits.lock_ttl_s,
            wait_for_peer_s=self._waits.wait_for_peer_s,
            poll_interval_s=self._waits.poll_interval_s,
        )


async def single_flight(
    cache: Cache,
    key: str,
    compute: Callable[[], Awaitable[T]],
    *,
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
    clock: Clock,
    ttl_s: int,
    lock_ttl_s: float,
    wait_for_peer_s: float,
    poll_interval_s: float,
) -> tuple[T, str]:
    """(value, outcome): `hit` read from the cache, `miss` computed here and shared,
    `bypass` computed without the cache (it was unreachable).

    The first to miss takes a lock (`{key}:lock`, held `lock_ttl_s` at most) and
    computes; the others wait for its value while the lock is held, up to
    `wait_for_peer_s` (by `clock.monotonic`), then compute themselves (and still share
    the value). A lock won just after the holder stored its value and let go is given
    back unused: the key is read again first. The holder releases the lock whether
    `compute` succeeds or raises, so waiters take over at once instead of when it
    expires.
    """
    lock, token = f"{key}:lock", secrets.token_hex(8).encode()
    try:
        deadline = clock.monotonic() + wait_for_peer_s
        while True:
            cached = await cache.get(key)
            if cached is not None:
                return decode(cached), "hit"
            if await cache.set_if_absent(lock, token, ttl_s=lock_ttl_s):
                cached = await cache.get(key)
                if cached is not None:
                    await cache.delete_if_equal(lock, token)
                    return decode(cached), "hit"
                break
            if clock.monotonic() >= deadline:
                break  # the holder is slow or gone: compute, and still share the value
            await asyncio.sleep(poll_interval_s)
    except CacheUnavailable:
        return await compute(), "bypass"
    try:
        value = await compute()
        try:
            await cache.set(key, encode(value), ttl_s=ttl_s)
        except CacheUnavailable:
            return value, "bypass"
    finally:
        with contextlib.suppress(CacheUnavailable):  # else the lock expires on its own
            await cache.delete_if_equal(lock, token)
    return value, "miss"
