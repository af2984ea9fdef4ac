"""What tests/deploy/ shares: the deploy tools it runs (each required, none skipped:
`just setup-deploy-tools` installs them), the kustomize renders of deploy/k8s/, and
readers of the objects and files both tests compare."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "compose.yaml"
COMPOSE_DIR = ROOT / "deploy" / "compose"
TOOLS_BIN = ROOT / ".venv-tools" / "bin"

OVERLAYS = ("base", "overlays/production", "overlays/keda")
"""Every kustomization under deploy/k8s/, the base included."""
DEPLOYABLE = ("overlays/production", "overlays/keda")
"""What an operator applies (the base has no namespace object and a tag, not a digest)."""

Manifest = dict[str, Any]


def tool(name: str, *, in_tools_venv: bool = False) -> str:
    """The path of a command the deploy checks need; a missing one fails the test."""
    if in_tools_venv:
        path = TOOLS_BIN / name
        assert path.is_file(), f"{path} is missing: run `just setup-deploy-tools`"
        return str(path)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    assert found is not None, f"`{name}` is not installed: run `just setup-deploy-tools`"
    return found


def kustomize_command() -> list[str]:
    """`kustomize build`, or kubectl's built-in kustomize (`kubectl kustomize`)."""
    if standalone := shutil.which("kustomize"):
        return [standalone, "build"]
    return [tool("kubectl"), "kustomize"]


@functools.cache
def rendered_text(overlay: str) -> str:
    """The YAML stream `kustomize build deploy/k8s/<overlay>` prints."""
    result = subprocess.run(
        [*kustomize_command(), str(K8S / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(overlay: str) -> list[Manifest]:
    """The objects of `overlay`, as kustomize renders them (a fresh copy per call)."""
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def named(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_specs(objects: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(workload, pod spec) of every Deployment and Job."""
    for workload in objects:
        if workload["kind"] in {"Deployment", "Job"}:
            yield workload, workload["spec"]["template"]["spec"]


def env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines of an env file (comments and blank lines left out)."""
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def duration_s(value: str | int) -> float:
    """A compose duration (`40s`, `1m30s`) or a number of seconds."""
    if isinstance(value, int):
        return float(value)
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for char in value:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * units[char]
            number = ""
    return total + (float(number) if number else 0.0)
