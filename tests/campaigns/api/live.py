"""The HTTP app served for real by uvicorn (the same protocol, limits and timeouts as `campaigns api`) on 127.0.0.1, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from campaigns.api.server import install_log_redaction, server_config


class LiveServer:
    def __init__(self, app: Any, max_concurrency: int = 100, **overrides: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = server_config(app, "127.0.0.1", self.port, max_concurrency, log_level="warning")
        for name, value in overrides.items():
            setattr(config, name, value)
        install_log_redaction()
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:  # uvicorn sets this flag once it listens; there is no event to wait on
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
