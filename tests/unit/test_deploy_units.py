"""The systemd units under deploy/systemd/: valid for systemd, running real CLI commands,
and the ones the operations docs name."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avataradam.entrypoints.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
DOCS = [ROOT / "docs" / "operations.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]


def _exec_start(unit: Path) -> list[str]:
    [line] = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_every_unit_the_docs_name_is_shipped() -> None:
    named = {
        name for doc in DOCS for name in re.findall(r"avataradam-[a-z]+\.service", doc.read_text())
    }
    assert named, "the operations docs name the units they describe"
    assert named <= {unit.name for unit in UNITS}


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_unit_runs_a_command_the_cli_accepts(unit: Path) -> None:
    program, *arguments = _exec_start(unit)

    assert Path(program).name == "avataradam"
    parsed = _parser().parse_args(arguments)
    assert parsed.command in {"serve", "worker"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian's systemd package) is needed"
    program = Path(sys.executable).with_name("avataradam")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(_exec_start(unit)[0], str(program)))

    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "EnvironmentFile" not in line
    ]
    assert result.returncode == 0, problems
    assert problems == []
