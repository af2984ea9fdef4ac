"""Handing memory a finished task freed back to the operating system.

Embedding a batch with the local model allocates a few hundred MiB of activations, and
glibc keeps freed heap memory for reuse instead of returning it: without a trim, a
worker's resident size stays at its largest task's peak for good. `malloc_trim(0)`
returns the free pages of every arena (glibc 2.8 and later release the middle of the
heap too, not only its top); it costs milliseconds and is safe while other threads
allocate. Elsewhere than glibc (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Returns free heap memory to the operating system; whether any was returned."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
