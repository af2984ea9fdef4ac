"""The web client (`web/`, built by `npm run build`) served at `/` beside the API.

An ASGI layer in front of the routed API: a GET or HEAD of a path outside the API's own
prefixes (`/v1`, `/health`, `/metrics`, `/schema`, `/docs`) is answered from the build
directory; everything else goes to the API untouched, so API routes always win.

- A file of the build is sent with its media type (UTF-8 for text). Files under
  `/assets/` carry a content hash in their name: `Cache-Control: public,
  max-age=31536000, immutable`. Anything else (`index.html`, `favicon.svg`): `no-cache`.
- A path without a file extension that is not a file is a client-side route: it answers
  `index.html` (200, `no-cache`). A missing file with an extension, or under `/assets/`,
  is 404 `text/plain`.
- Without a build (`index.html` absent), every such path answers 503 with a short HTML
  page saying how to build it; the API works as ever.
- Every answer carries a Content-Security-Policy allowing only the page's own origin
  (no inline script or style, no framing; spoken replies play through the Web Audio
  API, which media-src does not govern),
  `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath

import anyio
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

API_PREFIXES = ("/v1", "/health", "/metrics", "/schema", "/docs")
"""Paths the API owns; never answered from the build directory."""
IMMUTABLE = "public, max-age=31536000, immutable"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
NOT_BUILT = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AvatarAdam: web client not built</title>
</head><body><main><h1>The web client is not built</h1>
<p>Build it with <code>just setup</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp;
npm run build</code>), then reload. The API is running: see <a href="/docs">/docs</a>.</p>
</main></body></html>
"""


def default_web_dir() -> Path:
    """`web/dist` of the source checkout this package runs from (src layout)."""
    return Path(__file__).resolve().parents[4] / "web" / "dist"


def is_api_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


def media_type(path: Path) -> str:
    known = _TYPES.get(path.suffix.lower())
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class WebClient:
    """Serves the build directory `directory` in front of the API app `app`."""

    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] not in ("GET", "HEAD")
            or is_api_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        status, headers, body = await self._answer(scope["path"])
        headers = [*headers, *SECURITY_HEADERS, (b"content-length", str(len(body)).encode())]
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        }
        await send(start)
        payload: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": b"" if scope["method"] == "HEAD" else body,
            "more_body": False,
        }
        await send(payload)

    async def _answer(self, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        index = self.directory / "index.html"
        if not await anyio.Path(index).is_file():
            return 503, _headers("text/html; charset=utf-8", "no-store"), NOT_BUILT
        target = self._file(path)
        if target is not None and await anyio.Path(target).is_file():
            cache = IMMUTABLE if path.startswith("/assets/") else "no-cache"
            return 200, _headers(media_type(target), cache), await anyio.Path(target).read_bytes()
        if path.startswith("/assets/") or "." in PurePosixPath(path).name:
            return 404, _headers("text/plain; charset=utf-8", "no-cache"), b"Not Found\n"
        return 200, _headers(_TYPES[".html"], "no-cache"), await anyio.Path(index).read_bytes()

    def _file(self, path: str) -> Path | None:
        """The build file `path` names; None when it names none or leaves the directory."""
        relative = path.lstrip("/")
        if not relative or "\0" in relative or "\\" in relative:
            return None
        candidate = (self.directory / relative).resolve()
        return candidate if candidate.is_relative_to(self.directory) else None


def _headers(content_type: str, cache: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", content_type.encode()), (b"cache-control", cache.encode())]
