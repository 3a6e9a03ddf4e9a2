"""API latency at 50 concurrent clients: p50/p95 of list campaigns, get ROI and create campaign.

    .venv/bin/python bench/bench_api.py                       # a fresh home with 500 campaigns and ROI marts, SQLite
    .venv/bin/python bench/bench_api.py --home data           # an existing demo home (after `make demo` / `campaigns build`)
    .venv/bin/python bench/bench_api.py --database-url postgresql://postgres@127.0.0.1:5432/campaigns_bench

It serves the API with `campaigns api` in its own process (the real server, limits and all), creates
an owner API key, and fires `--requests` requests per endpoint from `--clients` concurrent clients.
Targets: p95 under 100 ms for the reads, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from campaigns.access.api_keys import create_key
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import engine_for, migrate, session_scope
from campaigns.lifecycle.service import CampaignInput, create_campaign, list_campaigns

ROOT = Path(__file__).resolve().parents[1]


def _seed(settings: Settings, merchant: str, campaigns: int) -> list[str]:
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, merchant)
        have = len(list_campaigns(s, merchant))
        for i in range(have, campaigns):
            create_campaign(s, merchant, CampaignInput(name=f"Bench {i:05}", type="CONVERSION", channels=["email", "google_ads"]), actor="bench")
        ids = [c.id for c in list_campaigns(s, merchant)]
    if settings.store_url.startswith("postgresql"):  # planner statistics, as autovacuum keeps them on a live store (stale ones sort every campaign)
        with engine_for(settings.store_url).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE campaigns")
    serving = settings.home_path / "serving"
    if not (serving / "roi_by_model_all_models.parquet").exists():  # a fresh home: ROI rows as the serving asset would publish them
        serving.mkdir(parents=True, exist_ok=True)
        pl.DataFrame([{"merchant_id": merchant, "campaign_id": c, "model": m, "model_family": "rule_based", "channel": ch, "spend": 100.0,
                       "conversions": 3.0, "revenue": 320.0, "roas": 3.2, "roi": 2.2}
                      for c in ids for m in ("first_touch", "last_touch", "linear", "markov", "shapley") for ch in ("email", "google_ads")]
                     ).write_parquet(serving / "roi_by_model_all_models.parquet")
    return ids


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


class _Connection:
    """One kept-alive HTTP/1.1 connection with the least client-side work, so the server's time dominates.

    The load comes from this same 2-core machine: a full HTTP client spends more CPU per request than the
    server's reads do and would measure itself. Responses are read by Content-Length (what uvicorn sends)."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.auth = host, port, f"Authorization: Bearer {key}\r\nHost: {host}:{port}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, url: str, body: dict | None) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {url} HTTP/1.1\r\n{self.auth}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(headers[9:12])
        length = 0
        for line in headers.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                self.writer = None
        await self.reader.readexactly(length)
        return status


def _server_cpu(pid: int) -> float | None:
    """CPU seconds the server and its worker processes used so far (Linux /proc; None elsewhere). Per request it
    depends little on the machine's load, unlike the latencies when other work shares the cores."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == pid or int(fields[1]) == pid:  # the server, or a worker it started
                total += (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return None
    return total


async def _run(host: str, port: int, key: str, clients: int, requests: int, label: str, make, server_pid: int | None = None) -> dict:  # noqa: ANN001
    """`clients` connections each sending its next request as soon as the last answered (closed loop)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    samples: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        connection = _Connection(host, port, key)
        while not queue.empty():
            i = queue.get_nowait()
            method, url, body = make(i)
            start = time.perf_counter()
            status = await connection.request(method, url, body)
            samples.append(time.perf_counter() - start)
            errors += status >= 400

    cpu_before = _server_cpu(server_pid) if server_pid else None
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - started
    cpu_after = _server_cpu(server_pid) if server_pid else None
    cpu_ms = (cpu_after - cpu_before) / len(samples) * 1000 if cpu_before is not None and cpu_after is not None else None
    p50, p95 = _percentiles(samples)
    print(f"{label:<18} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {len(samples) / wall:7.0f} req/s   errors {errors}"
          + (f"   server CPU {cpu_ms:.2f} ms/request" if cpu_ms is not None else ""))
    return {"endpoint": label, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "per_second": round(len(samples) / wall), "errors": errors,
            "server_cpu_ms": round(cpu_ms, 2) if cpu_ms is not None else None}


def _serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "campaigns.cli.main", "api", "--port", str(port), "--workers", str(workers)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180  # worker processes import the whole app: slow on a busy machine
    while True:  # ready when a request is answered (every worker process has started by then or soon after)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(12).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            if server.poll() is None:
                os.killpg(server.pid, 15)
            raise SystemExit("the API did not start")
        time.sleep(0.2)
    time.sleep(1.0 * workers)  # let every worker import and build its app before timing
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="CAMPAIGNS_HOME to use (default: a fresh temporary one)")
    parser.add_argument("--database-url", help="PostgreSQL store instead of the home's SQLite")
    parser.add_argument("--merchant", default="demo")
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", default="1,2", help="API worker processes to compare, comma-separated (each its own server)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {**os.environ, "CAMPAIGNS_HOME": str(home.resolve()), "CAMPAIGNS_API_RATE_LIMIT_PER_MINUTE": "1000000"}
    if args.database_url:
        env["CAMPAIGNS_DATABASE_URL"] = args.database_url
    settings = Settings(home=home, database_url=args.database_url)
    ids = _seed(settings, args.merchant, args.campaigns)
    with session_scope(settings.store_url) as s:
        key = create_key(s, args.merchant, f"bench {time.time():.0f}", Role.OWNER, actor="bench").key
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.clients} concurrent clients, {args.requests} requests per endpoint; store {store}, {len(ids)} campaigns; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} before the run (server CPU per request counts every API process)")
    results = []
    for workers in [int(w) for w in args.workers.split(",")]:
        server, port = _serve(env, workers)
        try:
            print(f"-- {workers} worker process{'es' if workers > 1 else ''}")
            run = f"{int(time.time())}-{workers}"
            for label, make in (("list campaigns", lambda i: ("GET", "/marketing/campaigns?limit=50", None)),
                                ("get ROI", lambda i: ("GET", f"/marketing/analytics/campaigns/{ids[i % len(ids)]}/roi", None)),
                                ("create campaign", lambda i: ("POST", "/marketing/campaigns", {"name": f"Bench {run} #{i}", "type": "AWARENESS"}))):
                asyncio.run(_run("127.0.0.1", port, key, min(args.clients, 10), min(args.requests, 100), label, lambda i, make=make: make(-1 - i)))  # warm-up
                results.append({"workers": workers, "store": store, **asyncio.run(_run("127.0.0.1", port, key, args.clients, args.requests, label, make,
                                                                                       server.pid))})
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
    first = {r["endpoint"]: r for r in results if r["workers"] == results[0]["workers"]}
    for r in results[len(first):]:
        print(f"{r['endpoint']:<18} {r['workers']} workers vs {results[0]['workers']}: "
              f"{r['per_second'] / max(1, first[r['endpoint']]['per_second']):.2f}x the requests per second, "
              f"p95 {r['p95_ms'] / max(0.1, first[r['endpoint']]['p95_ms']):.2f}x")


if __name__ == "__main__":
    main()
