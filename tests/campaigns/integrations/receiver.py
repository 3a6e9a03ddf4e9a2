"""A webhook receiver on 127.0.0.1 that verifies each message with the Standard Webhooks library.

It can be down (503), can lose its answer after keeping the message (500 once, as if the
response never arrived), and keeps every verified message so a test can de-duplicate by id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    secret: str
    url: str = ""
    down: bool = False
    lose_answer_once: set[str] = field(default_factory=set)  # webhook-ids whose first answer is "lost"
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (webhook-id, payload), verified only
    rejected: list[str] = field(default_factory=list)
    requests: int = 0

    def unique(self) -> dict[str, dict[str, Any]]:
        return dict(self.received)


@contextmanager
def serve_receiver(secret: str) -> Iterator[Receiver]:
    state = Receiver(secret)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                state.requests += 1
                if state.down:
                    return self._answer(503)
                try:
                    payload = Webhook(state.secret).verify(body, dict(self.headers.items()))
                except WebhookVerificationError as exc:
                    state.rejected.append(str(exc))
                    return self._answer(401)
                msg_id = self.headers["webhook-id"]
                state.received.append((msg_id, payload))
                if msg_id in state.lose_answer_once:
                    state.lose_answer_once.discard(msg_id)
                    return self._answer(500)
            self._answer(204)

        def _answer(self, code: int) -> None:
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
