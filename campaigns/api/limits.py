"""Request body limits enforced while reading, and a body read timeout, as plain ASGI middleware.

The server (llhttp, see campaigns.api.server) already refuses a malformed or negative
``Content-Length`` with 400 before any body is read, and a body without ``Content-Length`` or
``Transfer-Encoding`` is no body at all in HTTP/1.1. What is left for this layer: a declared length over the limit is refused with 413
before reading; a chunked body is counted as it arrives and refused with 413 at the first byte
over the limit; a client that stops sending its body for ``body_timeout`` seconds gets 408.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_BODY_BYTES = 1024 * 1024  # a campaign, a post or an email is a few kB; 1 MiB leaves room for long posts
BODY_TIMEOUT_SECONDS = 15.0


class BodyRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _problem(status: int, title: str, detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")], body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int], body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app, self.limit_for, self.body_timeout = app, limit_for, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "Content-Length must be a non-negative whole number of bytes")
                return
            if int(declared) > limit:
                await self._refuse(send, 413, f"the body is {int(declared)} bytes; send at most {limit} bytes")
                return
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise BodyRefused(408, f"the body did not arrive within {self.body_timeout:g} seconds; send it in one go") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyRefused(413, f"the body is over {limit} bytes; send at most {limit} bytes")
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyRefused as refused:
            if started:
                raise
            await self._refuse(send, refused.status, refused.detail)

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str) -> None:
        titles = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large"}
        headers, body = _problem(status, titles[status], detail)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
