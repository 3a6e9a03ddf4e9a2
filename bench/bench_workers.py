"""Worker scaling on PostgreSQL: due posts and one broadcast drained by 1, 2, 4 and 8 worker processes (a benchmark, not a test).

Two legs, each against a fresh database per worker count (created and dropped here; seeded once
into a template database, then copied, so every count starts from the same rows):

* posts (`--posts N`): N approved, due social posts; each process calls the real worker
  (`campaigns.social.worker.publish_due`) in a loop until a pass claims nothing, publishing to one
  local fake X (the seeding and the fake come from bench_publishing.py) that counts what it received.
* email (`--recipients N`): one approved broadcast to N contacts, snapshotted by the real
  `prepare_send`; each process runs the real delivery engine (`campaigns.email.delivery.deliver`,
  the shared work queue with SKIP LOCKED) with SendGrid's real client over HTTP to a local fake
  SendGrid that counts every recipient's copies (see bench_workers_email.py).

Reported per worker count: items per second, duplicates at the platform or provider (must be 0), lost
(must be 0), items not PUBLISHED / not SENT (must be 0), the peak RSS of the largest worker, the
workers' CPU time per item, and the 1-minute load average before and after the drain. To say why
workers stop scaling, it also reports how many cores were busy during the drain (the whole machine,
from /proc/stat), the CPU of this database's PostgreSQL backends and of this process (the fake)
per item, and what those backends were doing, sampled from pg_stat_activity every 0.2 s
(running, waiting on a lock, idle while the worker works in Python ...).

Run: `make bench-workers`, or
`python bench/bench_workers.py --posts 20000 --recipients 200000 [--workers 1,2,4,8] [--server postgresql://postgres@127.0.0.1:5432]`
(`--posts 0` or `--recipients 0` skips that leg; the issue's full sizes are 100000 posts and 1000000 recipients).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as stdlib_queue
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import bench_workers_email as email_leg
from bench_publishing import FakeX, seed
from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.settings import Settings
from campaigns.social.worker import publish_due
from publishers.x import XPublisher

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
SAMPLE_EVERY = 0.2  # seconds between pg_stat_activity samples
RESULTS = Path(__file__).parent / "results" / "workers.json"


# --- the post leg's processes ---------------------------------------------------------------------


def seed_posts(url: str, posts: int, key: str, out: mp.Queue) -> None:
    """Seed in its own process, so the seeding's memory is measured and given back."""
    started = time.perf_counter()
    seed(url, posts, TokenCipher(key))
    out.put({"seed_seconds": round(time.perf_counter() - started, 1),
             "seed_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})


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


# --- databases ------------------------------------------------------------------------------------


def database(server: str, name: str, *, drop: bool, template: str | None = None) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if drop:
            return
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:  # a file copy of the seeded database: seconds, where seeding again would take minutes
            strategy = sql.SQL(" STRATEGY FILE_COPY") if conn.info.server_version >= 150000 else sql.SQL("")
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)) + strategy)


def analyze(server: str, name: str) -> None:
    """VACUUM ANALYZE the seeded database: what autovacuum does within about a minute of a large insert in production.

    Its statistics travel with every copy. Without them the planner takes the freshly snapshotted table
    for empty, and each claim scans every PENDING row (see `--skip-analyze`).
    """
    with psycopg.connect(db_url(server, name), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def db_url(server: str, name: str) -> str:
    return f"{server.rstrip('/')}/{name}"


def query(server: str, name: str, text: str) -> list[tuple]:
    with psycopg.connect(db_url(server, name)) as conn:
        return conn.execute(text).fetchall()


def in_process(target: Callable[..., None], *args: Any) -> dict:
    """Run `target(*args, out)` in a spawned process and return what it put on `out`."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, out))
    process.start()
    while True:
        try:
            result = out.get(timeout=5)
            break
        except stdlib_queue.Empty:
            if not process.is_alive():
                raise SystemExit(f"{target.__name__} failed (exit code {process.exitcode})") from None
    process.join()
    return result


# --- what the machine and the database were doing during a drain ----------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def process_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY s: what this database's backends are doing (pg_stat_activity), and their CPU so far (/proc)."""

    def __init__(self, server: str, name: str) -> None:
        super().__init__(daemon=True)
        self.server, self.name = server, name
        self.states: Counter[str] = Counter()
        self.cpu: dict[int, float] = {}  # backend pid -> its CPU seconds at the last sample
        self.first_cpu: dict[int, float] = {}
        self.samples = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:  # the server's own database: not one of the sampled backends
            while not self.stopping.is_set():
                rows = conn.execute("SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = %s", (self.name,)).fetchall()
                self.samples += 1
                for pid, state, wait_type, wait in rows:
                    self.states[self._label(state, wait_type, wait)] += 1
                    if (seconds := process_cpu_seconds(pid)) is not None:
                        self.first_cpu.setdefault(pid, seconds)
                        self.cpu[pid] = seconds
                self.stopping.wait(SAMPLE_EVERY)

    @staticmethod
    def _label(state: str | None, wait_type: str | None, wait: str | None) -> str:
        if state == "active":
            return "running (CPU or disk)" if wait_type is None else f"active, waiting on {wait_type}:{wait}"
        if state == "idle in transaction":
            return "idle in transaction (the worker is in Python between statements)"
        return f"{state or 'unknown'} (between transactions: the worker works, or waits for the provider)"

    def stop(self) -> dict[str, Any]:
        self.stopping.set()
        self.join()
        total = sum(self.states.values()) or 1
        return {
            # a backend first seen after it started misses its first moments (backends connect at the first claim, well within one sample)
            "postgres_cpu_seconds": sum(self.cpu[pid] - self.first_cpu[pid] for pid in self.cpu),
            "backend_states": {label: round(100 * n / total, 1) for label, n in self.states.most_common(6)},
            "samples": self.samples,
        }


def drain(server: str, name: str, target: Callable[..., None], worker_args: Sequence[tuple]) -> dict[str, Any]:
    """Start one process per `worker_args`, start the clock once all have imported, wait for every report."""
    ctx = mp.get_context("spawn")  # clean processes, as separate worker machines would be
    ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, ready, start, out)) for args in worker_args]
    for p in procs:
        p.start()
    for _ in procs:  # every process has imported and built its client before the clock starts
        ready.get(timeout=300)
    sampler = Sampler(server, name)
    sampler.start()
    load_before = os.getloadavg()[0]
    busy_before, total_before = machine_ticks()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    start.set()
    reports: list[dict] = []
    while len(reports) < len(procs):
        try:
            reports.append(out.get(timeout=5))
        except stdlib_queue.Empty:
            if not any(p.is_alive() for p in procs) and out.empty():
                break  # a process died without reporting
    seconds = time.perf_counter() - started
    busy_after, total_after = machine_ticks()
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    load_after = os.getloadavg()[0]
    activity = sampler.stop()
    for p in procs:
        p.join()
    return {
        "seconds": seconds, "reports": reports, "failed_processes": sum(1 for p in procs if p.exitcode) + len(procs) - len(reports),
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "machine_busy_cores": round(os.cpu_count() * (busy_after - busy_before) / max(1, total_after - total_before), 2),
        "bench_process_cpu_seconds": self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime,
        **activity,
    }


def summary(n: int, workers: int, drained: dict[str, Any], unit: str) -> dict[str, Any]:
    reports, seconds = drained["reports"], drained["seconds"]
    per = lambda s: round(1000 * s / n, 2)  # noqa: E731 (ms per item)
    return {
        "workers": workers, unit + "s": n, "seconds": round(seconds, 2), f"{unit}s_per_second": round(n / seconds, 1),
        "peak_rss_mb_one_worker": round(max((r["peak_rss_mb"] for r in reports), default=0), 1),
        "per_worker_outcomes": sorted(r["outcomes"] for r in reports), "failed_processes": drained["failed_processes"],
        f"worker_cpu_ms_per_{unit}": per(sum(r["cpu_seconds"] for r in reports)),
        f"postgres_cpu_ms_per_{unit}": per(drained["postgres_cpu_seconds"]),
        f"fake_cpu_ms_per_{unit}": per(drained["bench_process_cpu_seconds"]),
        "machine_busy_cores": drained["machine_busy_cores"], "load_average": drained["load_average"],
        "backend_states": drained["backend_states"],
    }


# --- the legs -------------------------------------------------------------------------------------


def serve(handler: type) -> tuple[ThreadingHTTPServer, str]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return http, f"http://127.0.0.1:{http.server_address[1]}"


@contextmanager
def seeded_template(server: str, template: str, label: str, seed_fn: Callable[..., None], *args: Any, skip_analyze: bool) -> Iterator[dict]:
    """A template database seeded once (in its own process) and analyzed; dropped afterwards. Yields what the seeding reported."""
    database(server, template, drop=False)
    try:
        print(f"{label}: seeding once (template database) ...", flush=True)
        seeded = in_process(seed_fn, Settings(database_url=db_url(server, template)).store_url, *args)
        print(json.dumps(seeded), flush=True)
        if not skip_analyze:
            analyze(server, template)
        yield seeded
    finally:
        database(server, template, drop=True)


@contextmanager
def copy_of(server: str, template: str, workers: int) -> Iterator[str]:
    """A fresh copy of the template for one worker count (each count drains the same rows); dropped afterwards."""
    name = f"{template}_{workers}"
    database(server, name, drop=False, template=template)
    try:
        yield name
    finally:
        database(server, name, drop=True)


def posts_leg(server: str, posts: int, counts: Sequence[int], batch: int, skip_analyze: bool) -> list[dict]:
    http, base_url = serve(FakeX)
    template, key, results = f"bench_workers_{os.getpid()}_posts", generate_key(), []
    try:
        with seeded_template(server, template, f"posts ({posts:,} due posts)", seed_posts, posts, key, skip_analyze=skip_analyze) as seeded:
            for n in counts:
                with copy_of(server, template, n) as name:
                    url = Settings(database_url=db_url(server, name)).store_url
                    FakeX.posts.clear()
                    print(f"posts: {n} worker(s) draining {posts:,} due posts ...", flush=True)
                    drained = drain(server, name, worker, [(url, base_url, key, f"bench-{n}-{i}", batch) for i in range(n)])
                    statuses = dict(query(server, name, "SELECT status, count(*) FROM social_queue GROUP BY status"))
                sent = Counter(FakeX.posts)
                result = {"leg": "posts", **summary(posts, n, drained, "post"), "duplicates": sum(c - 1 for c in sent.values() if c > 1),
                          "lost": posts - len(sent), "not_published": posts - statuses.get("PUBLISHED", 0), **seeded}
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        http.shutdown()
    return results


def email_leg_run(server: str, recipients: int, counts: Sequence[int], batch: int, rate: float | None, skip_analyze: bool) -> list[dict]:
    http, base_url = serve(email_leg.FakeSendGrid)
    template, key, results = f"bench_workers_{os.getpid()}_email", generate_key(), []
    try:
        with (seeded_template(server, template, f"email ({recipients:,} contacts, a segment, an approved broadcast, its snapshot)",
                              email_leg.seed_broadcast, recipients, skip_analyze=skip_analyze) as seeded,
              tempfile.TemporaryDirectory() as home):
            if seeded["pending"] != recipients:
                raise SystemExit(f"the snapshot has {seeded['pending']} PENDING rows, expected {recipients}")
            for n in counts:
                with copy_of(server, template, n) as name:
                    settings = email_leg.settings_kwargs(db_url(server, name), base_url, key, home)
                    email_leg.FakeSendGrid.reset()
                    print(f"email: {n} worker(s) delivering to {recipients:,} recipients ...", flush=True)
                    drained = drain(server, name, email_leg.email_worker,
                                    [(settings, seeded["email_campaign_id"], f"bench-{n}-{i}", batch, rate) for i in range(n)])
                    statuses = dict(query(server, name, "SELECT status, count(*) FROM email_sends GROUP BY status"))
                    message_ids = dict(query(server, name, "SELECT provider_message_id, count(*) FROM email_sends WHERE status = 'SENT' "
                                                           "GROUP BY provider_message_id"))
                    campaign = query(server, name, "SELECT status FROM email_campaigns")[0][0]
                stopped = sorted({r["stopped"] for r in drained["reports"] if r["stopped"]})
                result = {"leg": "email", **summary(recipients, n, drained, "message"), **email_leg.provider_check(statuses, message_ids, recipients),
                          "statuses": statuses, "campaign_status": campaign, "analyzed": not skip_analyze, "stopped": stopped, "batch": batch, "rate_per_worker": rate, **seeded}
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        http.shutdown()
    return results


def table(results: list[dict], unit: str, not_done: str) -> None:
    print(f"\n| workers | {unit}s/s | seconds | duplicates | lost | {not_done} | peak RSS of one worker (MB) | CPU ms/{unit}: workers / PostgreSQL / fake "
          "| busy cores | load before/after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r[unit + 's_per_second']:,} | {r['seconds']} | {r['duplicates']} | {r['lost']} | {r[not_done]} "
              f"| {r['peak_rss_mb_one_worker']} | {r[f'worker_cpu_ms_per_{unit}']} / {r[f'postgres_cpu_ms_per_{unit}']} / {r[f'fake_cpu_ms_per_{unit}']} "
              f"| {r['machine_busy_cores']} | {r['load_average'][0]} / {r['load_average'][1]} |")
    for r in results:
        print(f"  {r['workers']} worker(s), PostgreSQL backends: " + "; ".join(f"{k} {v}%" for k, v in r["backend_states"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20_000, help="due posts to drain per worker count (0: skip the post leg; the issue's full size is 100000)")
    parser.add_argument("--recipients", type=int, default=1_000_000, help="recipients of the broadcast per worker count (0: skip the email leg)")
    parser.add_argument("--workers", default="1,2,4,8", help="comma-separated worker process counts")
    parser.add_argument("--batch", type=int, default=100, help="posts claimed per worker pass")
    parser.add_argument("--email-batch", type=int, default=1000, help="email rows per claim, and recipients per SendGrid request (at most 1000)")
    parser.add_argument("--email-rate", type=float, default=None,
                        help="messages per second per worker (default: unthrottled; the engine's SendGrid default is 1000/s per worker)")
    parser.add_argument("--skip-analyze", action="store_true",
                        help="copy the seeded database without VACUUM ANALYZE (no planner statistics, as in the first minute after a large snapshot)")
    parser.add_argument("--server", default=os.environ.get("CAMPAIGNS_TEST_PG", DEFAULT_SERVER),
                        help="PostgreSQL server URL without a database; databases are created and dropped per worker count")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if args.posts < 0 or args.recipients < 0 or not (args.posts or args.recipients) or not counts or min(counts) < 1 or not 1 <= args.email_batch <= 1000:
        raise SystemExit("give --posts and/or --recipients (at least one above 0), --workers counts of at least 1 and --email-batch 1-1000 "
                         "(e.g. --posts 2000 --recipients 20000 --workers 1,2,4,8)")
    posts = posts_leg(args.server, args.posts, counts, args.batch, args.skip_analyze) if args.posts else []
    emails = email_leg_run(args.server, args.recipients, counts, args.email_batch, args.email_rate, args.skip_analyze) if args.recipients else []
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"posts": posts, "email": emails}, indent=1))
    if posts:
        print(f"\nposts ({args.posts:,} per worker count; seeding {posts[0]['seed_seconds']} s, seed process peak RSS {posts[0]['seed_process_peak_rss_mb']} MB)")
        table(posts, "post", "not_published")
    if emails:
        e = emails[0]
        print(f"\nemail ({args.recipients:,} recipients per worker count; contacts and broadcast seeded in {e['seed_seconds']} s; "
              f"snapshot (prepare_send) {e['snapshot_seconds']} s, {e['snapshot_cpu_seconds']} s CPU, seed process peak RSS {e['seed_process_peak_rss_mb']} MB)")
        table(emails, "message", "not_sent")
    bad = [r for r in posts if r["duplicates"] or r["lost"] or r["not_published"] or r["failed_processes"]]
    bad += [r for r in emails if r["duplicates"] or r["lost"] or r["not_sent"] or r["unexpected"] or r["failed_processes"] or r["message_ids_not_matching_store"]]
    if bad:
        raise SystemExit("exactly-once violated (or a worker process failed)")


if __name__ == "__main__":
    main()
