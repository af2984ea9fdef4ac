"""An httpx transport onto the Litestar app in this process, and a client of a
container's whole API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx

from avataradam.entrypoints.http.app import create_app

if TYPE_CHECKING:
    from litestar import Litestar

    from avataradam.entrypoints.container import Container


def asgi_transport(
    app: Litestar, *, client: tuple[str, int] = ("127.0.0.1", 123)
) -> httpx.ASGITransport:
    """httpx's ASGI transport onto `app`; `client` is the peer address the app sees
    (httpx's own default).

    Both sides speak ASGI 3, but httpx types the scope and messages as plain mappings
    and Litestar as its TypedDicts, which mypy cannot match: the app is handed over as
    the plain callable it is.
    """
    asgi: Callable[..., Any] = app
    return httpx.ASGITransport(app=asgi, client=client)


@asynccontextmanager
async def api_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """Starts `container` and yields a client of its API in this process (base URL
    `http://testserver`); closes the container when the block ends."""
    await container.start()
    try:
        transport = asgi_transport(create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await container.close()
