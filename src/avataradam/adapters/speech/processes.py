"""Engine processes of the speech adapters: each runs in a session (process group) of its
own, so stopping one stops whatever it started too; otherwise a child still holding its
pipes would keep asyncio waiting for them to close."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


def kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL `process` and every process of its session (started with
    `start_new_session=True`); the event loop's child watcher reaps it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
