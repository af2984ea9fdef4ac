"""The app of a server process listens at once and is ready only when warm.

It warms the embedder up in the background (off the event loop), answers
`/health/live` 200 meanwhile and `/health/ready` 503 `warming_up`, then freezes its
heap and becomes ready. An embedded app (tests) warms nothing and is ready at once.
(Readiness past the warm-up checks the services: its body has `checks`, whether
Redis is here or not.)
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import TestClient

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings
from tests.support.world import in_memory_container


class WarmableEmbedder(HashingEmbedder):
    """Its warm-up waits until the test releases it (or fails, with `broken`)."""

    def __init__(self, *, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self.release = threading.Event()
        self.warmed_in: list[str] = []

    def warm_up(self) -> None:
        self.warmed_in.append(threading.current_thread().name)
        if not self.release.wait(10):
            raise AssertionError("the test never released the warm-up")
        if self.broken:
            raise EmbedderUnavailable("the local embedding model cannot be loaded")


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _app(embedder: WarmableEmbedder, *, server_process: bool) -> TestClient:  # type: ignore[type-arg]
    settings = load_settings({"AVATARADAM_EMBEDDER": "hashing"}, env_file=None)
    container = in_memory_container(settings, embedder=embedder)
    return TestClient(create_app(container, server_process=server_process))


def _ready_when_released(client: TestClient, embedder: WarmableEmbedder) -> httpx.Response:  # type: ignore[type-arg]
    embedder.release.set()
    deadline = time.monotonic() + 10
    while True:
        response = client.get("/health/ready")
        if response.status_code != 503 or response.json()["code"] != "warming_up":
            return response
        assert time.monotonic() < deadline, "never left warming_up"
        time.sleep(0.02)


@pytest.mark.usefixtures("unfrozen")
def test_a_server_listens_at_once_and_is_ready_only_once_warm() -> None:
    embedder = WarmableEmbedder()

    with _app(embedder, server_process=True) as client:
        assert client.get("/health/live").status_code == 200
        warming = client.get("/health/ready")
        assert gc.get_freeze_count() == 0
        ready = _ready_when_released(client, embedder)

    assert warming.status_code == 503
    assert warming.headers["content-type"].startswith("application/problem+json")
    assert warming.headers["retry-after"] == "1"
    assert warming.json()["code"] == "warming_up"
    assert "checks" in ready.json(), "past the warm-up, readiness checks the services"
    assert len(embedder.warmed_in) == 1
    assert embedder.warmed_in[0].startswith("asyncio")  # the loop's executor, not the loop
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_a_model_that_cannot_load_keeps_the_server_unready_and_says_why() -> None:
    embedder = WarmableEmbedder(broken=True)

    with _app(embedder, server_process=True) as client:
        failed = _ready_when_released(client, embedder)
        live = client.get("/health/live")

    assert live.status_code == 200
    assert failed.status_code == 503
    assert failed.json()["code"] == "warm_up_failed"
    assert "EmbedderUnavailable" in failed.json()["detail"]


@pytest.mark.usefixtures("unfrozen")
def test_an_embedded_app_is_ready_at_once_and_leaves_the_process_alone() -> None:
    embedder = WarmableEmbedder()

    with _app(embedder, server_process=False) as client:
        assert client.get("/health/live").status_code == 200
        assert "checks" in client.get("/health/ready").json()

    assert embedder.warmed_in == []
    assert gc.get_freeze_count() == 0
