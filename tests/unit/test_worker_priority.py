"""AVATARADAM_WORKER_NICE lowers the CPU priority of the worker process that reads it."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import os, sys\n"
    "from avataradam.entrypoints.worker.runtime import lower_cpu_priority\n"
    "before = os.nice(0)\n"
    "lower_cpu_priority(int(sys.argv[1]))\n"
    "print(os.nice(0) - before)\n"
)


@pytest.mark.parametrize(("increment", "expected"), [(0, 0), (7, 7)])
def test_the_nice_value_rises_by_the_setting(increment: int, expected: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(increment)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    assert int(out) == expected
