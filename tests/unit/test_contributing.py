"""The habits a newcomer reads about hold: the pre-commit hooks are checks that
`just lint` runs too, and every `just` recipe CONTRIBUTING.md names exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _lint_recipe() -> str:
    justfile = (ROOT / "justfile").read_text()
    match = re.search(r"^lint:\n((?:    .*\n)+)", justfile, re.M)
    assert match is not None
    return match.group(1)


def test_every_pre_commit_hook_is_a_check_that_just_lint_runs() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    lint = _lint_recipe()

    assert {hook["id"] for hook in hooks} >= {"ruff-check", "ruff-format", "import-contracts"}
    for hook in hooks:
        tool = hook["entry"].removeprefix("uv run --no-sync ").split(" --")[0]
        assert tool in lint, hook["id"]


def test_every_just_recipe_contributing_names_exists() -> None:
    recipes = set(
        re.findall(r"^([a-z][a-z0-9-]*)(?: [^:\n]*)?:", (ROOT / "justfile").read_text(), re.M)
    )
    named = set(re.findall(r"`just ([a-z][a-z0-9-]*)", (ROOT / "CONTRIBUTING.md").read_text()))

    assert named
    assert named <= recipes, named - recipes
