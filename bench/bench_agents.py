"""Benchmark of Leo and Ava on the offline engine (a script, not a test).

    .venv/bin/python bench/bench_agents.py [--post tests/agents/posts/long.md] [--runs 5]

1. Repurposing one post into all six formats with 3 variations each (target < 1 s).
2. A blog post to a complete campaign: plan (channels, budget to the cent, prediction,
   contingencies), content for x, LinkedIn, Facebook and Instagram, the email and the ads,
   and the posting schedule (target < 5 s); then the same plan stored as a campaign with
   its workflow in a throwaway SQLite store, and the workflow's first pass (drafts saved).

Timings are wall clock on this machine, after imports; the first run of each is reported
apart (cold caches), then the median and the slowest of the following runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.ava.models import Goal, PlanRequest  # noqa: E402
from agents.ava.planner import plan_campaign  # noqa: E402
from agents.ava.execution import create_campaign_from_plan, run_due_steps  # noqa: E402
from agents.leo.repurpose import repurpose  # noqa: E402
from agents.settings import AgentSettings  # noqa: E402
from agents.source import read_post  # noqa: E402
from campaigns.core.merchants import ensure_merchant  # noqa: E402
from campaigns.core.store.db import migrate, session_scope  # noqa: E402

FORMATS = ["x", "linkedin", "facebook", "instagram", "email", "ads"]


def timed(fn, runs: int) -> tuple[float, list[float], object]:
    start = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - start)
    return cold, warm, result


def report(label: str, target: float, cold: float, warm: list[float]) -> bool:
    slowest = max(warm) if warm else cold
    ok = max(cold, slowest) < target
    median = statistics.median(warm) if warm else cold
    print(f"{label:<58} cold {cold * 1000:8.1f} ms   median {median * 1000:8.1f} ms   max {slowest * 1000:8.1f} ms   "
          f"target < {target:g} s: {'ok' if ok else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--post", type=Path, default=ROOT / "tests" / "agents" / "posts" / "long.md")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = AgentSettings(llm_engine="offline")
    print(f"post: {args.post}  ({args.post.stat().st_size:,} bytes), engine: offline, runs: 1 cold + {args.runs}")

    cold, warm, result = timed(lambda: repurpose(read_post(args.post), FORMATS, 3, settings=settings), args.runs)
    ok = report("1. repurpose: 6 formats x 3 variations (parse included)", 1.0, cold, warm)
    print(f"   {len(result.outputs)} outputs, every check passed: {result.passed}")

    start, end = date.today() + timedelta(days=14), date.today() + timedelta(days=34)
    request = PlanRequest(goal=Goal(type="CONVERSION", target=150), budget=Decimal("10000"), start=start, end=end,
                          timezone="Europe/Berlin", channels=["google_ads", "meta_ads", "email", "x", "linkedin", "facebook", "instagram"])
    cold, warm, plan = timed(lambda: plan_campaign(request, source=read_post(args.post), settings=settings), args.runs)
    ok &= report("2. blog post -> complete campaign plan (content, schedule)", 5.0, cold, warm)
    formats = sorted({o["format"] for o in plan.content["outputs"]})
    total = sum(i.amount for i in plan.budget_allocation.items)
    print(f"   formats {formats}, {len(plan.schedule)} slots, budget split {total} of {plan.budget}, "
          f"expected {plan.prediction.kpi} {plan.prediction.expected:,.0f} ({plan.prediction.low:,.0f}-{plan.prediction.high:,.0f})")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'app.db'}"
        migrate(url)
        counter = iter(range(10_000))

        def store_and_run():
            merchant = f"bench-{next(counter)}"  # one merchant per run: the pass sees only this campaign
            now = datetime.now(UTC)
            with session_scope(url) as session:
                ensure_merchant(session, merchant)
                create_campaign_from_plan(session, merchant, plan, actor="bench", now=now)
            return run_due_steps(url, now, merchant_id=merchant, settings=settings)

        cold, warm, run = timed(store_and_run, args.runs)
        ok &= report("   + store as campaign + workflow, first pass (drafts saved)", 5.0, cold, warm)
        print(f"   workflow pass: {run.counts()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
