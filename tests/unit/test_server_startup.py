"""The app of a server process warms the embedder up and freezes its startup heap."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings


class WarmableEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.warmed_in: list[str] = []

    def warm_up(self) -> None:
        self.warmed_in.append(threading.current_thread().name)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _app(embedder: WarmableEmbedder, *, server_process: bool) -> TestClient:  # type: ignore[type-arg]
    settings = load_settings(
        {"AVATARADAM_PERSISTENCE": "memory", "AVATARADAM_EMBEDDER": "hashing"}, env_file=None
    )
    container = build_container(settings, Overrides(embedder=embedder))
    return TestClient(create_app(container, server_process=server_process))


@pytest.mark.usefixtures("unfrozen")
def test_server_startup_warms_the_embedder_off_the_loop_then_freezes_the_heap() -> None:
    embedder = WarmableEmbedder()

    with _app(embedder, server_process=True) as client:
        assert client.get("/health/live").status_code == 200

    assert len(embedder.warmed_in) == 1
    assert embedder.warmed_in[0].startswith("asyncio")  # the loop's executor, not the loop
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_an_embedded_app_leaves_the_process_alone() -> None:
    embedder = WarmableEmbedder()

    with _app(embedder, server_process=False) as client:
        assert client.get("/health/live").status_code == 200

    assert embedder.warmed_in == []
    assert gc.get_freeze_count() == 0
