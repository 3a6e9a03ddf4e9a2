"""Benchmark of Leo's offline engine over the copy corpus (a script, not a test).

    .venv/bin/python bench/bench_leo.py [--corpus tests/agents/leo/corpus] [--variations 3] [--runs 3]

For every post of the corpus: all six formats with `--variations` variations each, in
process (imports done, nothing cached between posts), timed per post; every draft scored
against every check (limits, whole words, tracked link, figures, injected text, the copy
rules: no generic heading, no fragment hook, a subject tied to the title or the main claim,
no duplicate headline, no leaked markup) and against distinctness per format.

Prints the share of drafts that pass every rule (target 100 %), the formats left out (a
post too short for ads), and the time per post: median and slowest over `--runs` passes
(target < 0.2 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.leo.repurpose import repurpose  # noqa: E402
from agents.settings import AgentSettings  # noqa: E402
from agents.source import read_post  # noqa: E402

FORMATS = ["x", "linkedin", "facebook", "instagram", "email", "ads"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "agents" / "leo" / "corpus")
    parser.add_argument("--variations", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = AgentSettings(llm_engine="offline", brand_hashtags=[])
    posts = sorted(p for p in args.corpus.iterdir() if p.is_file())
    timings: dict[str, list[float]] = {p.name: [] for p in posts}
    drafts = passing = 0
    failures: list[str] = []
    left_out: list[str] = []
    for run in range(args.runs):
        for path in posts:
            started = time.perf_counter()
            source = read_post(path)
            result = repurpose(source, FORMATS, args.variations, settings=settings)
            timings[path.name].append(time.perf_counter() - started)
            if run:
                continue
            distinct = {key.split(":")[0]: all(c.ok for c in checks) for key, checks in result.checks.items() if key.endswith(":distinct")}
            for out in result.outputs:
                drafts += 1
                checks = result.checks[f"{out.format}:v{out.variant}"]
                if all(c.ok for c in checks) and distinct.get(out.format, True):
                    passing += 1
                else:
                    failures += [f"{path.name} {out.format} v{out.variant} {c.name}: {c.detail}" for c in checks if not c.ok]
            left_out += [f"{path.name}: {n}" for n in result.notes if n.split(" ", 1)[0] in FORMATS and " left out: " in n]
    per_post = [statistics.median(t) for t in timings.values()]
    slowest_name, slowest = max(((n, max(t)) for n, t in timings.items()), key=lambda x: x[1])
    print(f"Leo offline engine, {len(posts)} posts x {len(FORMATS)} formats x {args.variations} variations, {args.runs} run(s)")
    print(f"drafts passing every rule: {passing}/{drafts} = {100 * passing / max(drafts, 1):.1f} %")
    print(f"time per post (in process): median {statistics.median(per_post) * 1000:.0f} ms, "
          f"mean {statistics.mean(per_post) * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms ({slowest_name})")
    for line in left_out:
        print(f"  format left out: {line}")
    for line in failures[:20]:
        print(f"  FAIL {line}")
    target_ok = passing == drafts and statistics.median(per_post) < 0.2
    print("targets (100 % passing, < 0.2 s per post):", "met" if target_ok else "NOT met")
    return 0 if target_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
