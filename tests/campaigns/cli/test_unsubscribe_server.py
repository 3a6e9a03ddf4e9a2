"""`campaigns email serve-unsubscribe` answers a real RFC 8058 one-click POST over HTTP."""

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.suppression import UnsubscribeClaim, UnsubscribeSigner, list_suppressions
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact


def test_one_click_post_over_http(home: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = Settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        contact = Contact(merchant_id="acme", email="ana@example.com", first_name="Ana")
        s.add(contact)
        s.flush()
        contact_id = contact.id
    token = UnsubscribeSigner(key).sign(UnsubscribeClaim("acme", contact_id, None, None))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CAMPAIGNS_HOME": str(home), "CAMPAIGNS_TOKEN_KEY": key}
    server = subprocess.Popen([sys.executable, "-m", "campaigns.cli.main", "email", "serve-unsubscribe", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/unsubscribe?token={urllib.parse.quote(token)}"
        body = urllib.parse.urlencode({"List-Unsubscribe": "One-Click"}).encode()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)  # the server is still starting: there is no event to wait on
    finally:
        server.kill()  # the test is over; no graceful shutdown needed (and none may hold us up)
        server.wait(timeout=30)
    with session_scope(settings.store_url) as s:
        assert [x.email for x in list_suppressions(s, "acme")] == ["ana@example.com"]
