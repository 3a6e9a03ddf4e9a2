"""A local Anthropic Messages API on 127.0.0.1: answers POST /v1/messages from a script, records every request.

Leo's and Ava's live engine is tested against it with the real SDK over real HTTP (the SDK's
transport is not one respx can intercept). The `fake_api` fixture in tests/conftest.py serves it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeMessagesAPI:
    """Answers POST /v1/messages from a script, then from `responder`; records every request."""

    def __init__(self) -> None:
        self.script: deque[Scripted] = deque()
        self.requests: list[Recorded] = []
        self.responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.lock = threading.Lock()
        self.url = ""

    def add(self, body: dict[str, Any] | None = None, *, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.script.append(Scripted(status, body, headers or {}, delay))

    def error(self, status: int, kind: str, *, retry_after_ms: int | None = 5) -> None:
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
        self.add({"type": "error", "error": {"type": kind, "message": f"scripted {status}"}}, status=status, headers=headers)

    def next_answer(self, body: dict[str, Any]) -> Scripted:
        with self.lock:
            if self.script:
                return self.script.popleft()
        if self.responder is None:
            return Scripted(500, {"type": "error", "error": {"type": "api_error", "message": "nothing scripted"}}, {"x-should-retry": "false"})
        return Scripted(200, self.responder(body))


def message(content: list[dict[str, Any]], *, model: str = "claude-haiku-4-5", stop_reason: str = "tool_use", input_tokens: int = 1200,
            output_tokens: int = 300, cache_creation: int = 0, cache_read: int = 0) -> dict[str, Any]:
    return {
        "id": f"msg_{time.monotonic_ns()}", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, "cache_creation_input_tokens": cache_creation,
                  "cache_read_input_tokens": cache_read},
    }


def tool_use(name: str, payload: Any, *, block_id: str = "toolu_01") -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": payload}


def forced_tool(body: dict[str, Any]) -> str:
    return body["tool_choice"]["name"]


def source_sentences(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The numbered sentences the gateway sent in the source block."""
    text = body["messages"][0]["content"][0]["text"]
    return re.findall(r"^\[(s\d+)\] (?:## |- )?(.+)$", text, flags=re.M)


# the helpers ride on the fixture's object too, so a test needs no import for them
FakeMessagesAPI.message = staticmethod(message)  # type: ignore[attr-defined]
FakeMessagesAPI.tool_use = staticmethod(tool_use)  # type: ignore[attr-defined]
FakeMessagesAPI.forced_tool = staticmethod(forced_tool)  # type: ignore[attr-defined]
FakeMessagesAPI.source_sentences = staticmethod(source_sentences)  # type: ignore[attr-defined]


def serve() -> Iterator[FakeMessagesAPI]:
    """Run a FakeMessagesAPI on a free local port until the generator is closed."""
    api = FakeMessagesAPI()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            api.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = api.next_answer(body)
            if answer.delay:
                time.sleep(answer.delay)
            payload = json.dumps(answer.body or {}).encode()
            try:
                self.send_response(answer.status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", "req_test")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield api
    server.shutdown()
    server.server_close()
