"""The body limit middleware and the server set-up, in process: refusals before reading, while reading, and after a response began."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
import uvicorn
from fastapi import FastAPI

from campaigns.api import server as api_server
from campaigns.api.limits import BodyLimitMiddleware, BodyRefused
from tests.campaigns.api.live import LiveServer


def _call(app, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[dict]:
    sent: list[dict] = []
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(BodyLimitMiddleware(app, lambda path: 10, body_timeout=1)({"type": "http", "path": "/x", "headers": headers}, receive, send))
    return sent


async def _reader(scope, receive, send) -> None:  # noqa: ANN001
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_declared_lengths_are_refused_before_the_app_runs() -> None:
    async def never(scope, receive, send) -> None:  # noqa: ANN001
        raise AssertionError("the app must not run")

    assert _call(never, [(b"content-length", b"-1")], [b""])[0]["status"] == 400
    assert _call(never, [(b"content-length", b"11")], [b""])[0]["status"] == 413


def test_a_streamed_body_is_cut_at_the_limit_unless_the_response_began() -> None:
    assert _call(_reader, [], [b"12345", b"12345"])[0]["status"] == 200  # exactly the limit
    assert _call(_reader, [], [b"12345", b"123456"])[0]["status"] == 413

    async def answers_then_reads(scope, receive, send) -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    with pytest.raises(BodyRefused):  # too late for a 413: the server closes the connection
        _call(answers_then_reads, [], [b"123456", b"123456"])


def test_other_scopes_pass_through() -> None:
    seen = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        seen.append(scope["type"])

    asyncio.run(BodyLimitMiddleware(app, lambda path: 10)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


def test_serve_configures_the_limits_and_redacts_the_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: ran.append(self.config))
    frozen: list[bool] = []  # the heap is frozen before serving, but not this test process's
    monkeypatch.setattr(api_server, "freeze_startup_heap", lambda: frozen.append(not ran))
    api_server.serve(FastAPI(), "127.0.0.1", 8799, 7)
    assert frozen == [True]
    config = ran[0]
    assert (config.http, config.limit_concurrency, config.timeout_keep_alive) == (api_server.LimitedHttpProtocol, 7, api_server.KEEP_ALIVE_SECONDS)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/unsubscribe?token=u1.a.b", "1.1", 200), None)
    handlers = logging.getLogger("uvicorn.access").handlers  # the config's logging set-up, as in every worker process
    assert handlers and all(f.filter(record) for h in handlers for f in h.filters)
    assert record.getMessage() == '127.0.0.1:5 - "GET /unsubscribe?token=[redacted] HTTP/1.1" 200'


class _QuickHeaders(api_server.LimitedHttpProtocol):
    header_timeout = 0.5


def test_the_header_deadline_applies_again_on_a_kept_alive_connection() -> None:
    app = FastAPI()

    @app.get("/")
    def root() -> dict:
        return {}

    with LiveServer(app, http=_QuickHeaders) as live, socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\n")  # the second request's headers never finish
        start = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - start < 3
