"""A deadline on reading the request body, so a client trickling it (slow loris) is cut off.

uvicorn and granian time out idle keep-alive connections, not a body that arrives a
byte at a time: without a deadline one such client holds a connection, a request task
and a spooled upload for as long as it likes, and a few hundred of them exhaust the
server. The deadline runs from the start of the request until its last body message;
once the body is complete, `receive` is left alone (streaming responses wait on it for
the client's disconnect).
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

HTTP_408_REQUEST_TIMEOUT = 408


class RequestBodyTimeout(HTTPException):
    """The body did not arrive within the deadline; the connection is closed after the 408."""

    status_code = HTTP_408_REQUEST_TIMEOUT

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            detail=f"the request body did not arrive within {timeout_s:g} s",
            headers={"Connection": "close"},
        )


class BodyReadTimeoutMiddleware:
    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_complete = False
        timed_out = False

        async def receive_before_deadline() -> ReceiveMessage:
            nonlocal body_complete, timed_out
            if body_complete:
                return await receive()
            if timed_out:
                return {"type": "http.disconnect"}
            try:
                # asyncio.timeout wraps the await in place; wait_for would spawn a task
                # per body message, a cost every request with a body paid.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise RequestBodyTimeout(self.timeout_s) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        await self.app(scope, receive_before_deadline, send)
