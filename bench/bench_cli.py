"""Start-up cost of the `campaigns` command line (a benchmark, not a test).

Runs each command in a fresh process against a temporary CAMPAIGNS_HOME and reports the median
and p90 wall time and the median CPU time (user + system of the child) over --runs runs, then the
heaviest imports of `campaigns --help` by cumulative time from `python -X importtime`.
Targets: `campaigns --help` under 0.3 s, the fixed cost of any command under 1 s. On a shared
machine wall time follows the load (printed with the results); CPU time much less so.
Writes nothing in the repository. Run: `make bench-cli` or `python bench/bench_cli.py [--runs 10]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["campaigns", "--help"],
    ["repurpose", "--help"],
    ["email", "--help"],
    ["automations", "--help"],
    ["merchants", "list"],  # a real command: opens (and checks the migration of) the store
    ["automations", "list"],  # a real command of a heavy group: the store and the automations service
]


def campaigns_command() -> list[str]:
    script = Path(sys.executable).with_name("campaigns")
    return [str(script)] if script.exists() else [sys.executable, "-m", "campaigns.cli.main"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def import_times(env: dict[str, str], args: list[str], top: int) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the heaviest imports while running `campaigns <args>`."""
    code = f"import sys\nfrom campaigns.cli.main import app\nsys.argv = ['campaigns', *{args!r}]\napp()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((int(cumulative_us), int(self_us), name))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs per command (default 10).")
    parser.add_argument("--top", type=int, default=15, help="Imports listed for `campaigns --help` (default 15).")
    args = parser.parse_args()
    base = campaigns_command()
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as home:
        env = {**os.environ, "CAMPAIGNS_HOME": home, "DAGSTER_HOME": str(Path(home) / "dagster"), "COLUMNS": "120"}
        env.pop("CAMPAIGNS_DATABASE_URL", None)
        # The first command on a new home creates the store; that is set-up, not start-up.
        subprocess.run([*base, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*base, "merchants", "add", "acme"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"{' '.join(base)}  ({args.runs} runs each; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        print(f"{'command':<32} {'wall median':>12} {'wall p90':>10} {'CPU median':>11}")
        for command in COMMANDS:
            run_once([*base, *command], env)  # warm the file cache and the bytecode
            walls, cpus = zip(*(run_once([*base, *command], env) for _ in range(args.runs)), strict=True)
            label = "campaigns " + " ".join(command)
            print(f"{label:<32} {statistics.median(walls):>10.3f} s {p90(walls):>8.3f} s {statistics.median(cpus):>9.3f} s")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("\nheaviest imports of `campaigns --help` (python -X importtime, cumulative):")
        print(f"{'cumulative':>11} {'self':>9}  module")
        for cumulative, self_us, name in import_times(env, ["--help"], args.top):
            print(f"{cumulative / 1e3:>8.1f} ms {self_us / 1e3:>6.1f} ms  {name}")


if __name__ == "__main__":
    main()
