"""`avataradam <command>` child processes of the tests, whose logs must hold no secret.

The harness itself (spawning, the registry of what a run started, stopping whole
process groups, the health wait) is `ops/harness/processes.py`, shared with the drills
and the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ops.harness.processes import ChildProcess, cli
from tests.support.secrets import assert_no_secrets


class ServiceProcess(ChildProcess):
    """One `avataradam <command>` child process whose output goes to a log file."""

    def __init__(self, command: list[str], env: Mapping[str, str], log_path: Path) -> None:
        super().__init__(cli(*command), env, log_path, label=f"avataradam {' '.join(command)}")
        self.command = command

    def stop(self, timeout_s: float = 30, *, whole_group: bool = False) -> None:
        """Stops the process and everything it started, then fails if any secret
        reached its log.

        SIGTERM goes to the main process only (unless `whole_group`): it forwards the
        signal to its children (Dramatiq, uvicorn, granian). The group is SIGKILLed if
        anything of it is still alive after `timeout_s`.
        """
        super().stop(timeout_s, whole_group=whole_group)
        assert_no_secrets(self.output(), source=f"log of `avataradam {' '.join(self.command)}`")
