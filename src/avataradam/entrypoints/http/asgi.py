"""ASGI factory for servers started by import string (`uvicorn --factory`, granian)."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar
from litestar.types import ControllerRouterHandler

from avataradam.adapters.observability.tracing import configure_tracing
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.observability.logging import configure_logging
from avataradam.entrypoints.settings import load_settings


def create(extra_routes: Sequence[ControllerRouterHandler] = ()) -> Litestar:
    """The API of one server process; `extra_routes` as in `create_app`."""
    settings = load_settings()
    configure_logging(
        service=f"{settings.service_name}-api",
        level=settings.logging.level,
        fmt=settings.logging.format,
    )
    configure_tracing(f"{settings.service_name}-api")
    return create_app(build_container(settings), server_process=True, extra_routes=extra_routes)
