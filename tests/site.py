"""A web site on 127.0.0.1 for intake tests: it serves what a test puts at each path,
slowly, in chunks or held back if asked, and records every request."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds before the answer: longer than the client's timeout means "never answers".
    delay: float = 0.0
    # Served in chunks without Content-Length, so only counting stops the client.
    stream: bool = False
    # Awaited before the answer: lets a test hold a request until others arrive.
    gate: Callable[[], Awaitable[None]] | None = None


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class Site:
    """Serves what a test puts at each path; records every request with its headers."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        # Another loopback address (127.0.0.2) stands for a machine inside the network.
        self.host = host
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        # handler_cancellation: a slow handler whose client gave up ends at once.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self.port = sock.getsockname()[1]
        self.base = f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: str | bytes, **kw: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = Page(data, **kw)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Request(request.path_qs, dict(request.headers)))
        page = self.pages.get(request.path_qs) or self.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="Not Found")
        if page.delay:
            await asyncio.sleep(page.delay)
        if page.gate is not None:
            await page.gate()
        etag = page.headers.get("ETag")
        if etag is not None and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"Content-Type": page.content_type, **page.headers}
        if not page.stream:
            return web.Response(status=page.status, body=page.body, headers=headers)
        response = web.StreamResponse(status=page.status, headers=headers)
        await response.prepare(request)
        step = 64 * 1024
        try:
            for start in range(0, len(page.body), step):
                await response.write(page.body[start : start + step])
        except ConnectionError:
            # The client stopped reading at its size cap: what the test wants.
            return response
        await response.write_eof()
        return response
