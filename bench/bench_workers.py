"""Worker scaling on PostgreSQL: drain N due posts with 1, 2, 4 and 8 worker processes (a benchmark, not a test).

Each worker count gets a fresh database on the server (created and dropped here), the same N
approved, due posts, and that many separate processes calling the real worker
(`campaigns.social.worker.publish_due`) in a loop until a pass claims nothing. Every process
publishes to one local fake X (the seeding and the fake come from bench_publishing.py), which
counts what it received. Reports, per worker count: posts per second, duplicates at the platform
(must be 0), lost posts (must be 0), items not PUBLISHED (must be 0) and the peak RSS of the
largest worker process; also the workers' CPU time per post and the 1-minute load average before and
after the drain, so a run on a busy machine can be recognised as such.

Run: `make bench-workers`, or
`python bench/bench_workers.py --posts 20000 [--workers 1,2,4,8] [--server postgresql://postgres@127.0.0.1:5432]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import threading
import time
from collections import Counter
from http.server import ThreadingHTTPServer

import psycopg
from psycopg import sql
from sqlalchemy import func, select

from bench_publishing import FakeX, seed
from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import SocialQueueItem
from campaigns.social.worker import publish_due
from publishers.x import XPublisher

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def worker(url: str, base_url: str, key: str, name: str, batch: int, ready: mp.Queue, start: mp.Event, out: mp.Queue) -> None:
    """One worker process: pass after pass of the real worker until a pass claims nothing; reports its peak RSS."""
    cipher = TokenCipher(key)
    publisher = XPublisher(base_url, timeout=30)
    published = 0
    ready.put(name)
    start.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        while outcomes := publish_due(url, {"x": publisher}, name, limit=batch, cipher=cipher).outcomes:
            published += len(outcomes)
    finally:
        publisher.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"worker": name, "outcomes": published, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime})


def database(server: str, name: str, *, drop: bool) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run_once(server: str, base_url: str, posts: int, workers: int, batch: int) -> dict:
    """Fresh database, seed `posts`, drain with `workers` processes, count, drop the database."""
    name = f"bench_workers_{os.getpid()}_{workers}"
    database(server, name, drop=False)
    try:
        url = Settings(database_url=f"{server.rstrip('/')}/{name}").store_url
        key = generate_key()
        seed(url, posts, TokenCipher(key))
        FakeX.posts.clear()
        ctx = mp.get_context("spawn")  # clean processes, as separate worker machines would be
        ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=worker, args=(url, base_url, key, f"bench-{workers}-{n}", batch, ready, start, out)) for n in range(workers)]
        for p in procs:
            p.start()
        for _ in procs:  # every process has imported and built its publisher before the clock starts
            ready.get(timeout=300)
        started = time.perf_counter()
        load_before = os.getloadavg()[0]
        start.set()
        reports = [out.get() for _ in procs]
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode]
        with session_scope(url) as s:
            statuses = dict(s.execute(select(SocialQueueItem.status, func.count()).group_by(SocialQueueItem.status)).all())
    finally:
        database(server, name, drop=True)
    sent = Counter(FakeX.posts)
    published = sum(n for status, n in statuses.items() if str(getattr(status, "value", status)) == "PUBLISHED")
    return {
        "workers": workers, "posts": posts, "seconds": round(seconds, 2), "posts_per_second": round(posts / seconds, 1),
        "duplicates": sum(n - 1 for n in sent.values() if n > 1), "lost": posts - len(sent), "not_published": posts - published,
        "peak_rss_mb_one_worker": round(max(r["peak_rss_mb"] for r in reports), 1),
        "per_worker_outcomes": sorted(r["outcomes"] for r in reports), "failed_processes": len(failed),
        "worker_cpu_ms_per_post": round(1000 * sum(r["cpu_seconds"] for r in reports) / posts, 1),
        "load_average": [round(load_before, 1), round(load_after, 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20_000, help="due posts to drain per worker count (the issue's full size is 100000)")
    parser.add_argument("--workers", default="1,2,4,8", help="comma-separated worker process counts")
    parser.add_argument("--batch", type=int, default=100, help="claims per worker pass")
    parser.add_argument("--server", default=os.environ.get("CAMPAIGNS_TEST_PG", DEFAULT_SERVER),
                        help="PostgreSQL server URL without a database; a database is created and dropped per worker count")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if args.posts < 1 or not counts or min(counts) < 1:
        raise SystemExit("--posts and every --workers count must be at least 1 (e.g. --posts 2000 --workers 1,2,4,8)")
    http = ThreadingHTTPServer(("127.0.0.1", 0), FakeX)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{http.server_address[1]}"
    results = []
    try:
        for n in counts:
            print(f"{n} worker(s): seeding {args.posts:,} due posts on a fresh PostgreSQL database, then draining ...", flush=True)
            result = run_once(args.server, base_url, args.posts, n, args.batch)
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        http.shutdown()
    print("\n| workers | posts/s | seconds | duplicates | lost | not published | peak RSS of one worker (MB) | worker CPU ms/post | load before/after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['posts_per_second']:,} | {r['seconds']} | {r['duplicates']} | {r['lost']} | {r['not_published']} "
              f"| {r['peak_rss_mb_one_worker']} | {r['worker_cpu_ms_per_post']} | {r['load_average'][0]} / {r['load_average'][1]} |")
    if any(r["duplicates"] or r["lost"] or r["not_published"] or r["failed_processes"] for r in results):
        raise SystemExit("exactly-once violated (or a worker process failed)")


if __name__ == "__main__":
    main()
