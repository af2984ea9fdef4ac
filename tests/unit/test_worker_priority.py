"""AVATARADAM_WORKER_NICE lowers the CPU priority of the worker process that reads it."""

from __future__ import annotations

import os

import pytest

from avataradam.entrypoints.worker.runtime import lower_cpu_priority


def _niceness_raised_in_a_child(increment: int) -> int:
    """Calls `lower_cpu_priority` in a forked child (a raised nice value cannot be
    lowered again) and returns by how much the child's nice value rose."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover -- the child reports through the pipe
        os.close(read)
        before = os.nice(0)
        lower_cpu_priority(increment)
        os.write(write, str(os.nice(0) - before).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        raised = int(pipe.read())
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return raised


@pytest.mark.parametrize(("increment", "expected"), [(0, 0), (7, 7)])
def test_the_nice_value_rises_by_the_setting(increment: int, expected: int) -> None:
    assert _niceness_raised_in_a_child(increment) == expected
