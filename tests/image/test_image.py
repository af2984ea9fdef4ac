"""The OCI image (deploy/image/Containerfile, built by `just image`) runs the service.

Its own containers, run with podman on the host's network (ops/image/env.sh: vfs
storage, runc), against the machine's PostgreSQL (a fresh database, migrated by the
image's `migrate`) and Redis: the image's API and worker, with the e5 embedding model
baked into the image, ingest an uploaded document and answer a search on it; the
HEALTHCHECK passes on both; both stop gracefully (exit 0) on `podman stop`.

Marked `image`: `just test-image` builds the image and runs these (the build is minutes,
so `just test` leaves them out and keeps tests/unit/test_containerfile.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ops.harness.environment import CHEAP_ARGON2
from ops.harness.processes import ChildProcess, free_port
from ops.harness.services import FreshDatabase
from tests.conftest import ADMIN_DSN, require_service

pytestmark = [pytest.mark.image, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("AVATARADAM_IMAGE", "localhost/avataradam:latest")
PODMAN = ["bash", "-c", 'source ops/image/env.sh && exec podman "$@"', "podman"]
"""podman as ops/image/*.sh call it (this machine's storage driver, runtime and limits)."""
PASSWORD = "image-test-password-correct-horse"
STOP_TIMEOUT_S = 60
"""`podman stop --time`: above the API's 30 s drain and the worker's drain timeout."""
HTTP_OK, HTTP_CREATED, HTTP_ACCEPTED = 200, 201, 202


def podman(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PODMAN, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def run_flags(name: str, env: Mapping[str, str]) -> list[str]:
    """`podman run` on the host's network (PostgreSQL and Redis on 127.0.0.1), no
    health timer (podman's needs systemd; `podman healthcheck run` checks by hand)."""
    return [
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "--health-interval",
        "disable",
        *(f"--env={key}={value}" for key, value in env.items()),
        IMAGE,
    ]


class Container(ChildProcess):
    """`podman run` of one of the image's commands in the foreground, its output (the
    container's) in a log file; `podman stop` stops it as an orchestrator does."""

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], log_path: Path, role: str
    ) -> None:
        self.name = f"avataradam-test-{role}-{uuid.uuid4().hex[:8]}"
        argv = [*PODMAN, *run_flags(self.name, env), *command]
        super().__init__(argv, {}, log_path, label=f"container {self.name}", cwd=ROOT)

    def stop_gracefully(self) -> int | None:
        """SIGTERM to the container's main process (`podman stop`), SIGKILL after
        STOP_TIMEOUT_S; the container's exit status (None: it did not exit)."""
        podman("stop", "--time", str(STOP_TIMEOUT_S), self.name, timeout_s=STOP_TIMEOUT_S + 30)
        if self.process is None:
            return None
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            return None

    def remove(self) -> None:
        podman("rm", "--force", "--ignore", self.name)
        self.stop(10, whole_group=True)


@dataclass
class Deployment:
    base_url: str
    api: Container
    worker: Container
    env: dict[str, str]


def run_once(command: Sequence[str], env: Mapping[str, str]) -> str:
    """One of the image's commands run to completion; its output (AssertionError with
    it when the container fails)."""
    name = f"avataradam-test-cli-{uuid.uuid4().hex[:8]}"
    result = podman(*run_flags(name, env), *command, timeout_s=300)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("podman") is None or podman("image", "exists", IMAGE).returncode != 0:
        pytest.fail(f"no image {IMAGE}: `just test-image` builds it (`just image`) first")
    return IMAGE


@pytest.fixture(scope="module")
def deployment(
    image: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A fresh database migrated by the image, a super admin made by its CLI, then its
    API (serve) and worker running until the module ends."""
    require_service(ADMIN_DSN, 5432, "PostgreSQL")
    database = FreshDatabase(ADMIN_DSN, prefix="avataradam_image").create(migrate=False)
    workdir = tmp_path_factory.mktemp("image")
    port, metrics_port = free_port(), free_port()
    env = {
        "AVATARADAM_ENVIRONMENT": "test",
        "AVATARADAM_DATABASE_URL": database.url,
        "AVATARADAM_REDIS_URL": redis_url,
        "AVATARADAM_EMBEDDER": "e5",
        "AVATARADAM_LOGGING_LEVEL": "INFO",
        **CHEAP_ARGON2,
    }
    api = Container(
        ["serve"],
        env | {"AVATARADAM_HTTP_HOST": "127.0.0.1", "AVATARADAM_HTTP_PORT": str(port)},
        workdir / "api.log",
        "api",
    )
    worker = Container(
        ["worker", "--threads", "2"],
        env | {"AVATARADAM_WORKER_METRICS_PORT": str(metrics_port)},
        workdir / "worker.log",
        "worker",
    )
    try:
        migrated = run_once(["migrate"], env)
        assert "applied" in migrated, migrated
        run_once(["create-admin", "--email", "root@image.example", "--password", PASSWORD], env)
        api.start()
        worker.start()
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, api, 240)
        yield Deployment(base_url, api, worker, env)
    finally:
        api.remove()
        worker.remove()
        database.drop()


def wait_until_ready(base_url: str, api: Container, timeout_s: float) -> None:
    """`/health/ready` answers 200: the database, Redis and the embedding model (the
    warm-up loads it) are usable."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if api.exited():
            raise AssertionError(f"the API container exited:\n{api.output()[-4000:]}")
        try:
            response = httpx.get(f"{base_url}/health/ready", timeout=2)
        except httpx.HTTPError as exc:
            last = str(exc)
        else:
            if response.status_code == HTTP_OK:
                return
            last = f"{response.status_code} {response.text[:500]}"
        time.sleep(0.5)
    raise AssertionError(f"not ready in {timeout_s} s ({last}):\n{api.output()[-4000:]}")


def sign_in(http: httpx.Client, email: str) -> dict[str, str]:
    response = http.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == HTTP_OK, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_image_runs_as_a_non_root_user_on_python_311_without_build_tools(image: str) -> None:
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["avataradam"]
    assert config["Cmd"] == ["serve"]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "python3", "/opt/avataradam/healthcheck.py"]

    probe = (
        "id -u; python3 -c 'import sys; print(*sys.version_info[:2], sep=\".\")'; "
        "for tool in gcc cc c++ make ld uv pip pip3; do command -v $tool; done; true"
    )
    result = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10001", "3.11"], result.stdout


def test_images_api_and_worker_ingest_an_upload_and_answer_a_search(
    deployment: Deployment,
) -> None:
    with httpx.Client(base_url=deployment.base_url, timeout=60) as http:
        root = sign_in(http, "root@image.example")
        dealership = http.post("/v1/dealerships", json={"name": "Image Motors"}, headers=root)
        assert dealership.status_code == HTTP_CREATED, dealership.text
        admin_email = f"admin-{uuid.uuid4().hex[:8]}@image.example"
        user = http.post(
            "/v1/users",
            json={
                "email": admin_email,
                "password": PASSWORD,
                "role": "dealership_admin",
                "dealership_id": dealership.json()["id"],
            },
            headers=root,
        )
        assert user.status_code == HTTP_CREATED, user.text
        admin = sign_in(http, admin_email)

        text = (
            "# Tire and wheel protection\n\n"
            "The tire and wheel plan pays for rims bent by potholes and for tires cut by "
            "road hazards, for five years, with no deductible.\n"
        )
        upload = http.post(
            "/v1/documents",
            files={"file": ("tire-and-wheel.md", text.encode(), "text/markdown")},
            data={"topic": "product_knowledge"},
            headers=admin,
        )
        assert upload.status_code == HTTP_ACCEPTED, upload.text
        document_id = upload.json()["id"]

        deadline = time.monotonic() + 180
        status = "queued"
        while time.monotonic() < deadline and status in ("queued", "processing"):
            time.sleep(0.5)
            status = http.get(f"/v1/documents/{document_id}", headers=admin).json()["status"]
        assert status == "ready", f"{status}:\n{deployment.worker.output()[-4000:]}"

        search = http.post(
            "/v1/search",
            json={"query": "does the plan cover a rim bent by a pothole?", "top_k": 3},
            headers=admin,
        )
        assert search.status_code == HTTP_OK, search.text
        results = search.json()["results"]
        assert results, search.text
        assert results[0]["document_id"] == document_id
        assert "potholes" in results[0]["text"]

        page = http.get("/")
        assert page.status_code == HTTP_OK
        assert page.headers["content-type"].startswith("text/html")
        assert "web client is not built" not in page.text


def test_healthcheck_passes_on_the_api_and_the_worker(deployment: Deployment) -> None:
    for container in (deployment.api, deployment.worker):
        result = podman("healthcheck", "run", container.name)
        assert result.returncode == 0, f"{container.name}: {result.stdout}{result.stderr}"


def test_api_and_worker_containers_stop_gracefully(deployment: Deployment) -> None:
    """Last in this module: it stops the deployment."""
    worker_status = deployment.worker.stop_gracefully()
    api_status = deployment.api.stop_gracefully()
    assert (api_status, worker_status) == (0, 0), (
        f"api {api_status}: {deployment.api.output()[-2000:]}\n"
        f"worker {worker_status}: {deployment.worker.output()[-2000:]}"
    )
