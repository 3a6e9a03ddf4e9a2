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
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl

from campaigns.access.api_keys import create_key
from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
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


async def _run(base: str, key: str, clients: int, requests: int, label: str, make) -> None:  # noqa: ANN001
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=30) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)
        samples: list[float] = []
        errors = 0

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                method, url, body = make(i)
                start = time.perf_counter()
                response = await client.request(method, url, json=body)
                samples.append(time.perf_counter() - start)
                errors += response.status_code >= 400

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    p50, p95 = _percentiles(samples)
    print(f"{label:<18} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {len(samples) / wall:7.0f} req/s   errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="CAMPAIGNS_HOME to use (default: a fresh temporary one)")
    parser.add_argument("--database-url", help="PostgreSQL store instead of the home's SQLite")
    parser.add_argument("--merchant", default="demo")
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {**os.environ, "CAMPAIGNS_HOME": str(home.resolve()), "CAMPAIGNS_API_RATE_LIMIT_PER_MINUTE": "1000000"}
    if args.database_url:
        env["CAMPAIGNS_DATABASE_URL"] = args.database_url
    settings = Settings(home=home, database_url=args.database_url)
    ids = _seed(settings, args.merchant, args.campaigns)
    with session_scope(settings.store_url) as s:
        key = create_key(s, args.merchant, f"bench {time.time():.0f}", Role.OWNER, actor="bench").key
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "campaigns.cli.main", "api", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start") from None
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        store = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{args.clients} concurrent clients, {args.requests} requests per endpoint; store {store}, {len(ids)} campaigns; {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        run = int(time.time())
        asyncio.run(_run(base, key, args.clients, args.requests, "list campaigns", lambda i: ("GET", "/marketing/campaigns?limit=50", None)))
        asyncio.run(_run(base, key, args.clients, args.requests, "get ROI",
                         lambda i: ("GET", f"/marketing/analytics/campaigns/{ids[i % len(ids)]}/roi", None)))
        asyncio.run(_run(base, key, args.clients, args.requests, "create campaign",
                         lambda i: ("POST", "/marketing/campaigns", {"name": f"Bench run {run} #{i}", "type": "AWARENESS"})))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
