"""Request bodies bounded before anything reads them (OWASP ASVS V12.1, V13.1).

A pure ASGI middleware, outermost, so it runs before routing, authentication and body parsing.
It reads the whole body into memory while counting bytes as they arrive, whether or not the
client sent a Content-Length (a chunked request has none), and answers 413 as soon as the limit
is passed. The application then gets the buffered body replayed. Bodies are therefore never
larger than the limit in memory, and since the multipart parser's spool size is set above the
limit (see `create_app`), an upload is never written to a temporary file.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _too_large(limit: int) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(
        {
            "error": "upload_too_large",
            "message": f"request body larger than {limit} bytes",
            "problems": [],
            "source": None,
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"cache-control", b"no-store"),
        ],
    }
    return start, body


class BodyLimitMiddleware:
    """`limit_for(scope)` gives the most bytes a request may carry (multipart uploads get more
    than JSON bodies)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and (not v.isdigit() or int(v) > limit):
                await self._refuse(send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            part = msg.get("body", b"")
            size += len(part)
            if size > limit:
                chunks.clear()
                await self._refuse(send, limit)
                return
            if part:
                chunks.append(part)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        start, body = _too_large(limit)
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
