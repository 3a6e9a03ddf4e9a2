"""Serving the HTTP app with uvicorn behind the same limits everywhere.

- headers must be complete within ``HEADER_TIMEOUT_SECONDS`` of the connection opening (or of the
  previous response on a kept-alive connection), and may be at most ``MAX_HEADER_BYTES``;
- an idle kept-alive connection closes after ``KEEP_ALIVE_SECONDS``;
- bodies: see `campaigns.api.limits` (size enforced while reading, read timeout);
- at most ``Settings.api_max_concurrency`` connections and requests at once, 503 beyond;
- the access log never shows unsubscribe or tracking tokens, nor link signatures.

The server is asynchronous, so a slow or idle client holds one connection, never the others.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import gc
import logging
import re
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024

_SECRETS_IN_PATHS = [
    (re.compile(r"(/t/[oc]/)[^/?\s\"]+"), r"\1[redacted]"),  # tracking tokens in the path
    (re.compile(r"([?&](?:token|s|key|api_key)=)[^&\s\"]*", re.IGNORECASE), r"\1[redacted]"),  # tokens and signatures in query strings
]


def redact(path: str) -> str:
    for pattern, replacement in _SECRETS_IN_PATHS:
        path = pattern.sub(replacement, path)
    return path


class RedactTokens(logging.Filter):
    """Rewrites the path of uvicorn's access log lines ('%s - "%s %s HTTP/%s" %d')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = redact(args[2])
            record.args = tuple(args)
        return True


class _HeadersTooLarge(Exception):
    pass


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp: several times cheaper per request than h11) with the limits on headers:
    they must be complete within `header_timeout` and at most `max_header_bytes`, or the connection closes (431 for size).
    A client dripping one header line at a time, or sending endless headers, is cut off."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_headers, self._header_bytes, self._parsed_bytes, self._too_large = False, 0, 0, False
        self._header_deadline: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.parser is None or self.transport.is_closing():
            return
        # headers still arriving after this chunk: count its bytes (one endless header line never reaches on_header)
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._header_bytes, self._parsed_bytes = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)  # 'name: value\r\n'
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        """Headers that came in one chunk: refused before the request starts (the parser reports the error, see below)."""
        self._parsed_bytes += size
        if self._parsed_bytes > self.max_header_bytes:
            self._too_large = True
            raise _HeadersTooLarge

    def send_400_response(self, msg: str) -> None:
        if self._too_large:  # the parser stopped on our _HeadersTooLarge: answer what it was
            self._refuse_headers()
            return
        super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        if self._header_deadline is not None:
            self._header_deadline.cancel()  # the headers are in; the body has its own timeout
            self._header_deadline = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if (self.cycle is None or self.cycle.response_complete or self._in_headers) and not self.transport.is_closing():
            self.transport.close()

    def _refuse_headers(self) -> None:
        body = f"the request headers are over {self.max_header_bytes} bytes; send fewer or shorter headers".encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        self.transport.close()


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up with the token redaction on the access handler: applied in every worker process."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


def server_config(app: Any, host: str, port: int, max_concurrency: int, *, log_level: str = "info", workers: int = 1) -> uvicorn.Config:
    """`app` is the ASGI app itself, or with workers > 1 the import string of a factory each worker process calls."""
    return uvicorn.Config(
        app, host=host, port=port, http=LimitedHttpProtocol, ws="none", lifespan="off", log_level=log_level, log_config=log_config(),
        timeout_keep_alive=KEEP_ALIVE_SECONDS, limit_concurrency=max_concurrency,
        server_header=False, proxy_headers=False, timeout_graceful_shutdown=10, workers=workers, factory=workers > 1,
    )


def install_log_redaction() -> None:
    """For a server configured without `log_config()` (tests serving in a thread)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


WORKER_APP_FACTORY = "campaigns.api.app:create_from_environment"


def freeze_startup_heap() -> None:
    """Put what start-up built (modules, the app, its routes and schemas) out of the garbage collector's reach.

    Every full collection walked those objects again, and it stops the process: every request in flight on it
    waited. At 50 clients on PostgreSQL that pause was most of the list's p95 (232 / 178 ms without, 106 / 95 ms
    with; docs/benchmarks.md). Called once per serving process, after the app is built; what start-up left
    as garbage is collected first, so nothing frozen is garbage. At exit they are handed back, so the final
    collection frees them (DuckDB's bindings report every object of theirs still alive then as a leak)."""
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)


def serve(app: Any, host: str, port: int, max_concurrency: int, *, workers: int = 1) -> None:
    """Serve until interrupted (SIGINT / SIGTERM end it gracefully).

    With workers > 1, uvicorn's supervisor starts that many processes on one listening socket, each
    building its app from the environment (`WORKER_APP_FACTORY`); `app` is then not used. Python
    runs one request's code at a time per process, so reads scale with processes, not threads.
    """
    if workers <= 1:
        freeze_startup_heap()
        uvicorn.Server(server_config(app, host, port, max_concurrency)).run()
        return
    from uvicorn.supervisors import Multiprocess

    config = server_config(WORKER_APP_FACTORY, host, port, max_concurrency, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
