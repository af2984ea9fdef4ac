"""Single flight over the shared cache: a missing key is computed once across every
instance, the others wait for its value (the retrieval and the answer caches)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

from avataradam.domain.ports.services import Cache, CacheUnavailable
from avataradam.domain.ports.system import Clock

T = TypeVar("T")


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
