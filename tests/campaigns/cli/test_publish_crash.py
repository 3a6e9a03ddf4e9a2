"""A publishing process killed mid-send, then restarted: nothing is posted twice, nothing is lost,
every post ends in a terminal state with a reason."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from campaigns.core.crypto import generate_key
from campaigns.core.enums import QueueStatus
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import list_queue, schedule_text
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from tests.publishers.fake_platforms import FakeX

TEXTS = [f"Crash test post {i}" for i in range(4)]
# Due on any clock: the workers are subprocesses, which keep the real clock when the tests' own is moved
# (CAMPAIGNS_TEST_CLOCK_SHIFT_DAYS), so "five minutes ago" here could still be ahead for them.
DUE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_killed_worker_is_reconciled_after_restart(home: Path, monkeypatch) -> None:
    fake = FakeX()
    fake.start()
    try:
        monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", generate_key())
        monkeypatch.setenv("CAMPAIGNS_X_BASE_URL", fake.url())
        monkeypatch.setenv("CAMPAIGNS_PUBLISH_MODE", "live")
        settings = Settings()
        migrate(settings.store_url)
        from campaigns.core.crypto import cipher_from_settings

        with session_scope(settings.store_url) as s:
            ensure_merchant(s, "acme")
            account = add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", refresh_token="x-refresh-1",
                                    cipher=cipher_from_settings(settings))
            for n, text in enumerate(TEXTS):
                schedule_text(s, "acme", account_id=account.id, text=text, scheduled_at=DUE + timedelta(minutes=n), author="ana")
        # the first post is created at X, then the answer never comes: the worker is killed while it waits
        fake.fail_next("create", "timeout_after_create")
        env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
        worker = subprocess.Popen([sys.executable, "-m", "campaigns.cli.main", "social", "publish-due", "--live"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while fake.created < 1 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)  # polling the fake platform: the only signal that the post went out
        assert fake.created == 1, worker.communicate(timeout=5)[0].decode()[-2000:] if worker.poll() is not None else "no post reached X"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        fake.release.set()

        with session_scope(settings.store_url) as s:
            stuck = [i for i in list_queue(s, "acme") if i.status is QueueStatus.PUBLISHING]
        assert stuck, "the killed worker left its claims behind"

        # restart with a lease short enough to presume the dead worker gone
        monkeypatch.setenv("CAMPAIGNS_PUBLISH_LEASE_SECONDS", "1")
        time.sleep(1.5)  # let the lease of the dead worker run out (wall clock: leases are times)
        restarted = subprocess.run([sys.executable, "-m", "campaigns.cli.main", "social", "publish-due", "--live"],
                                   env={**os.environ, "CAMPAIGNS_HOME": str(home)}, capture_output=True, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        again = subprocess.run([sys.executable, "-m", "campaigns.cli.main", "social", "publish-due", "--live"],
                               env={**os.environ, "CAMPAIGNS_HOME": str(home)}, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr

        with session_scope(settings.store_url) as s:
            items = {i.text: i for i in list_queue(s, "acme")}
        posted = [t["text"] for t in fake.tweets]
        assert len(posted) == len(set(posted)), f"posted twice: {posted}"
        assert items[TEXTS[0]].status is QueueStatus.PUBLISHED  # found on X by reconciliation, not re-sent
        for text, item in items.items():
            assert item.status in (QueueStatus.PUBLISHED, QueueStatus.NEEDS_REVIEW, QueueStatus.FAILED), (text, item.status)
            if item.status is not QueueStatus.PUBLISHED:
                assert item.last_error, f"{text} ended {item.status} without a reason"
            else:
                assert any(p == text or p.startswith(text) for p in posted), f"{text} marked published but not on X"
        assert set(items) == set(TEXTS)  # none lost
    finally:
        fake.release.set()
        fake.stop()
