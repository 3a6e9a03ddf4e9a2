"""Drain 10,000 due posts to a local fake X with two concurrent workers (a benchmark, not a test).

Reports posts per second, duplicates at the platform (must be 0), lost posts (must be 0) and
the p95 latency from an item's claim to its receipt. Run: `make bench-publishing`, or
`python bench/bench_publishing.py --posts 10000 --workers 2 [--postgres URL]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import insert, select

from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.social.accounts import add_account
from campaigns.social.worker import publish_due
from campaigns.content.approvals import KIND_QUEUE_TEXT, content_hash
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Approval, PublishReceipt, SocialQueueItem
from publishers.x import XPublisher


SEED_CHUNK = 10_000


def reply(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
    """A JSON answer from one of the benches' fake providers."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class FakeX(BaseHTTPRequestHandler):
    posts: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.posts.append(body["text"])
            tweet_id = str(1_000_000 + len(self.posts))
        self._json(201, {"data": {"id": tweet_id, "text": body["text"]}})

    def do_GET(self) -> None:  # noqa: N802
        self._json(200, {"data": [], "meta": {"result_count": 0}})

    def _json(self, status: int, payload: dict) -> None:
        reply(self, status, json.dumps(payload).encode())

    def log_message(self, *args) -> None:  # quiet
        pass


def seed(url: str, posts: int, cipher: TokenCipher) -> None:
    """Queue `posts` due, approved posts (bulk inserts: seeding is not what is measured)."""
    migrate(url)
    now = datetime.now(UTC) - timedelta(minutes=1)
    with session_scope(url) as s:
        ensure_merchant(s, "bench")
        account = add_account(s, "bench", "x", "@bench", actor="bench", access_token="bench-token", cipher=cipher)
        for start in range(0, posts, SEED_CHUNK):  # a chunk at a time, so 100k posts seed in bounded memory
            rows = []
            for i in range(start, min(posts, start + SEED_CHUNK)):
                text = f"Bench post number {i}"
                rows.append({"merchant_id": "bench", "account_id": account.id, "text": text, "media": [], "content_hash": content_hash(text, []),
                             "scheduled_at": now, "status": "QUEUED", "attempts": 0, "idempotency_key": f"bench-{i}", "content_kind": KIND_QUEUE_TEXT,
                             "created_at": now, "updated_at": now})
            s.execute(insert(SocialQueueItem), rows)
            ids = s.execute(select(SocialQueueItem.id, SocialQueueItem.content_hash).where(SocialQueueItem.idempotency_key.in_([r["idempotency_key"] for r in rows]))).all()
            s.execute(insert(Approval), [{"merchant_id": "bench", "content_kind": KIND_QUEUE_TEXT, "content_id": i, "content_hash": h,
                                          "approved_by": "bench", "approved_at": now, "note": "bench"} for i, h in ids])


def drain(url: str, base_url: str, workers: int, batch: int, cipher: TokenCipher) -> float:
    started = time.perf_counter()

    def work(n: int) -> None:
        publisher = XPublisher(base_url, timeout=10)
        try:
            while publish_due(url, {"x": publisher}, f"bench-{n}", limit=batch, cipher=cipher).outcomes:
                pass
        finally:
            publisher.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def report(url: str, posts: int, seconds: float, backend: str) -> dict:
    with session_scope(url) as s:
        statuses = Counter(s.scalars(select(SocialQueueItem.status)).all())
        latencies = sorted(
            (r.created_at - i.claimed_at).total_seconds()
            for r, i in s.execute(select(PublishReceipt, SocialQueueItem).join(SocialQueueItem, PublishReceipt.queue_item_id == SocialQueueItem.id)
                                  .where(PublishReceipt.outcome == "published")).all()
        )
    sent = Counter(FakeX.posts)
    result = {
        "backend": backend, "posts": posts, "seconds": round(seconds, 2), "posts_per_second": round(posts / seconds, 1),
        "duplicates": sum(n - 1 for n in sent.values() if n > 1), "lost": posts - len(sent),
        "p95_claim_to_receipt_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "statuses": {str(k.value if hasattr(k, "value") else k): v for k, v in statuses.items()},
    }
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres", help="a PostgreSQL URL of an empty database to run the store on instead of SQLite")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeX)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        url = Settings(database_url=args.postgres).store_url if args.postgres else f"sqlite:///{Path(tmp) / 'app.db'}"
        print(f"seeding {args.posts:,} due posts on {'PostgreSQL' if args.postgres else 'SQLite'} ...")
        cipher = TokenCipher(generate_key())
        seed(url, args.posts, cipher)
        print(f"draining with {args.workers} workers, {args.batch} claims per pass ...")
        seconds = drain(url, base_url, args.workers, args.batch, cipher)
        result = report(url, args.posts, seconds, "postgres" if args.postgres else "sqlite")
    server.shutdown()
    print(f"{result['posts_per_second']} posts/s, duplicates {result['duplicates']}, lost {result['lost']}, p95 claim-to-receipt {result['p95_claim_to_receipt_ms']} ms")
    if result["duplicates"] or result["lost"]:
        raise SystemExit("exactly-once violated")


if __name__ == "__main__":
    main()
