"""After a large task the worker hands freed heap memory back to the operating system."""

from __future__ import annotations

import os
import platform

import psutil
import pytest

from avataradam.entrypoints.worker.memory import release_free_memory

MIB = 1024 * 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_memory_freed_by_a_task_leaves_the_process_once_released() -> None:
    process = psutil.Process()
    # 200 MB in blocks below malloc's mmap threshold: they live on the heap, and a
    # block allocated after them keeps glibc from shrinking the heap by itself.
    blocks = [os.urandom(1) * 4000 for _ in range(50_000)]
    pinned = os.urandom(1) * 4000
    held = process.memory_info().rss
    del blocks
    kept = process.memory_info().rss

    assert release_free_memory()

    assert kept > held - 50 * MIB  # freed, yet still resident
    assert process.memory_info().rss < kept - 150 * MIB
    assert pinned
