"""An httpx transport onto the Litestar app in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from litestar import Litestar


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
