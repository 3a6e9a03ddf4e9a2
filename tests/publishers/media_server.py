"""A local file server for the media a post refers to: serves /media/<name> with a given body and type."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(files: dict[str, tuple[bytes, str]]) -> Iterator[str]:
    """Serve {name: (body, content type)} under /media/; yields the base URL (http://127.0.0.1:port)."""

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            found = files.get(self.path.removeprefix("/media/")) if self.path.startswith("/media/") else None
            self.send_response(200 if found else 404)
            self.send_header("content-type", found[1] if found else "text/plain")
            self.send_header("content-length", str(len(found[0]) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(found[0])

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
