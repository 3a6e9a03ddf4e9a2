"""End-to-end benchmark of attribution on the warehouse (a script, not a test).

    .venv/bin/python bench/bench_attribution.py [--scale bench|demo|large] [--scales demo,bench,large]
        [--users N] [--report-growth demo,bench,large] [--backend duckdb|postgres|both|spark] [--seed 7] [--as-of 2026-06-30] [--threads 2]
        [--repeat 3] [--cold-dbt] [--peer-python PATH] [--keep]

Generates the demo merchant at the chosen scale (``bench``: about 1M users, 5M
touchpoints, 14 channels + direct; ``large``: 10x that, streamed; ``--users N``
scales ``large`` to about N users), in a subprocess whose peak memory is measured,
writes the store and the landing files into a temporary home under /tmp, then per
backend times:

1. ingest        landing Parquet -> ``raw.*`` (every landed table + the campaigns snapshot);
2. journeys      dbt ``int_conversion_touchpoints``, ``int_nonconverting_touchpoints``;
3. rule-based    dbt ``int_attribution_credits``, ``fct_attribution`` (a view), ``attribution_by_channel``,
                 ``attribution_by_campaign``;
4. paths         dbt ``int_paths_aggregated``;
5. Markov        ``markov_attribution`` (order 1) on the aggregated paths read from the
                 warehouse (the read is timed separately);
6. Shapley       ``shapley_attribution`` on the same paths.

Stages 2-4 come from ONE ``dbt run`` (staging views included); their times are
the sums of the nodes' ``execution_time`` in ``run_results.json``.  Nodes run on
``--threads`` threads, so the sums are not wall time: the dbt command's wall time,
its start-up overhead (wall - sum of node times; negative when nodes overlap), the
nodes' span (first start to last end) and wall - span are reported too.  An
untimed ``dbt parse`` into the same ``--target-path`` runs first so that the timed
run uses partial parsing like repeated pipeline runs (``--cold-dbt`` skips it).

Markov, Shapley and the peer each get one untimed warm-up call on a three-path
input, then ``--repeat`` timed calls; the best is reported (the machine is shared),
with the median and the process CPU time.  Markov and Shapley are timed from the
path-string frame (``'a > b'``) the peer also gets, so the split is included.

PostgreSQL (127.0.0.1:5432, user postgres, trust auth) gets a throwaway database
``bench_<random>`` that is dropped at the end; the leg is skipped with the reason
if the server does not answer.  ``--backend spark`` (the ``spark`` extra, Java 17) runs
the same stages on a local PySpark sized by ``CAMPAIGNS_SPARK_DRIVER_MEMORY``,
``_SHUFFLE_PARTITIONS`` and ``_CODEGEN`` (both the loader's session and dbt's); the
JVMs are child processes, and their peaks are sampled on their own (this process's JVM
for the ingest and the read, the one under dbt for the models).

The peer, ``ChannelAttribution.markov_model`` (GPL, optional ``bench`` extra;
``install_pro()`` is never called), runs on the same aggregated paths in a
subprocess of ``--peer-python``; only its ``markov_model(...)`` call is timed, from
inside that subprocess.  Results: a table per backend, then one JSON line per
backend, also written to ``bench/results/attribution-<backend>.json`` (and
``attribution-<backend>-<scale>.json``).

Peak memory (resident set, Linux): of the generating subprocess, of each ``dbt``
process (from ``wait4``), of this process during ingest and during the read,
Markov and Shapley (its high-water mark is reset before each), and of the peer's
subprocess.  ``--scales demo,bench,large`` runs the scales one after the other
(each in a fresh home, deleted after) and ends with a table of how each stage's
time grows from one scale to the next, against the growth of the rows
(``--report-growth`` prints it from the results saved by separate runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO))

from campaigns.attribution import markov_attribution, shapley_attribution  # noqa: E402
from campaigns.demo.generator import DEMO_MERCHANT, SCALES, generate, generate_streamed  # noqa: E402
from campaigns.demo.writer import write_demo  # noqa: E402
from campaigns.core.settings import Settings  # noqa: E402
from campaigns.warehouse.connection import open_warehouse  # noqa: E402
from campaigns.warehouse.ingest import load_campaigns_snapshot, load_landed_table  # noqa: E402
from campaigns.warehouse.schema import LANDED_TABLES  # noqa: E402

DBT_DIR = REPO / "dbt_project"
RESULTS_DIR = REPO / "bench" / "results"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FALLBACK_PEER_PYTHON = Path("/tmp/benchvenv/bin/python")

DBT_SELECT = ["+fct_attribution", "+int_paths_aggregated", "+attribution_by_channel", "+attribution_by_campaign"]
JOURNEY_MODELS = ("int_conversion_touchpoints", "int_nonconverting_touchpoints")
PATH_MODELS = ("int_paths_aggregated",)
RULE_MARTS = ("fct_attribution", "attribution_by_channel", "attribution_by_campaign")
PATH_DELIMITER = " > "  # dbt macro attribution_path_delimiter
PATHS_SQL = (
    "select path, conversions, revenue, non_conversions from intermediate.int_paths_aggregated "
    f"where merchant_id = '{DEMO_MERCHANT}'"
)

DEFAULT_AS_OF = date(2026, 6, 30)

# Targets stated in the output: all models from raw rows, per scale (seconds on DuckDB, 2 cores).
TARGET_ALL_MODELS_S = {"bench": 15.0, "large": 60.0}
TARGET_PEAK_RSS_MB = 8 * 1024  # large scale: each process (dbt's, this one's) under 8 GB
LARGE_USERS = 10_000_000  # what --users scales the large scale's touch multiplier against
TARGET_MARKOV_RATIO = 2.0
EXACT_TOL = 1e-12

# Runs inside --peer-python (no project imports there). argv[1]: JSON {"csv": path, "repeat": n}.
# Prints one line "PEER_JSON {...}"; everything else it prints is ignored.
PEER_CODE = r"""
import contextlib, importlib.metadata, inspect, io, json, sys, time
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):  # the import prints a Pro banner
    import ChannelAttribution as ca
args = json.loads(sys.argv[1])
frame = pd.read_csv(args["csv"], dtype={"path": str})
params = inspect.signature(ca.markov_model).parameters
defaults = {k: p.default for k, p in params.items()
            if p.default is not inspect.Parameter.empty and k not in ("var_value", "var_null", "out_more", "verbose", "flg_pro", "order")}
kwargs = dict(var_path="path", var_conv="total_conversions", var_value="total_conversion_value",
              var_null="total_null", order=1, out_more=True, verbose=False, flg_pro=False)
kwargs = {k: v for k, v in kwargs.items() if k in params}
tiny = pd.DataFrame({"path": ["a > b", "b", "a > a > b"], "total_conversions": [1, 0, 1],
                     "total_conversion_value": [10.0, 0.0, 5.0], "total_null": [1, 2, 0]})
ca.markov_model(tiny, **kwargs)  # untimed warm-up, as for ours
walls, cpus = [], []
for _ in range(max(1, int(args["repeat"]))):
    c0, started = time.process_time(), time.perf_counter()
    out = ca.markov_model(frame, **kwargs)
    walls.append(time.perf_counter() - started)
    cpus.append(time.process_time() - c0)
def by_channel(table, column):
    return {str(n).strip(): float(v) for n, v in zip(table["channel_name"], table[column])}
result = out["result"] if isinstance(out, dict) else out
removal = out["removal_effects"] if isinstance(out, dict) else None
re_col = None
if removal is not None:
    re_col = "removal_effects_conversion" if "removal_effects_conversion" in removal.columns else [
        c for c in removal.columns if c.startswith("removal_effect")][0]
try:
    version = importlib.metadata.version("ChannelAttribution")
except importlib.metadata.PackageNotFoundError:
    version = getattr(ca, "__version__", "?")
hwm = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print("PEER_JSON " + json.dumps({
    "max_rss_mb": hwm[0] if hwm else None,  # own high-water mark (ru_maxrss carries the parent's RSS at fork)
    "seconds": min(walls),
    "median_seconds": sorted(walls)[len(walls) // 2],
    "runs_seconds": walls,
    "cpu_seconds": min(cpus),
    "runs_cpu_seconds": cpus,
    "repeat": len(walls),
    "version": version,
    "python": sys.executable,
    "kwargs": kwargs,
    "defaults": {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)) for k, v in defaults.items()},
    "removal_effects": by_channel(removal, re_col) if removal is not None else None,
    "removal_effect_column": re_col,
    "conversions": by_channel(result, "total_conversions"),
}))
"""


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(msg, flush=True)


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:8.2f} s"


def settings_for(home: Path, backend: str, pg_url: str | None = None) -> Settings:
    kwargs = {"home": home, "database_url": None, "warehouse": backend, "warehouse_url": pg_url}
    return Settings(_env_file=None, **kwargs)


def postgres_available() -> str | None:
    """None if the server answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True) as con:
            con.execute("select 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: skip the leg
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    return None


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, connect_timeout=5, autocommit=True) as con:
        con.execute(sql)


def resolve_peer_python(option: str | None) -> tuple[str | None, str]:
    """(interpreter, how it was chosen) or (None, reason to skip)."""
    if option:
        if not Path(option).exists():
            return None, f"--peer-python {option} does not exist"
        return option, "--peer-python"
    if importlib.util.find_spec("ChannelAttribution") is not None:
        return sys.executable, "current interpreter (ChannelAttribution importable)"
    if FALLBACK_PEER_PYTHON.exists():
        return str(FALLBACK_PEER_PYTHON), f"fallback {FALLBACK_PEER_PYTHON} (ChannelAttribution not importable here)"
    return None, (
        "ChannelAttribution is not importable by this interpreter (optional GPL `bench` extra) and "
        f"{FALLBACK_PEER_PYTHON} does not exist; pass --peer-python"
    )


def cpu_pressure() -> float | None:
    """Share of the last 60 s in which some task waited for a CPU (Linux PSI), in %."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(dict(kv.split("=") for kv in line.split()[1:])["avg60"])
    except (OSError, ValueError, KeyError, IndexError):
        return None


LAST_CHILD_CPU_SECONDS = 0.0


def reset_peak_rss() -> bool:
    """Reset this process's resident-set high-water mark (Linux: 5 > /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak resident set since the last reset (VmHWM), else since it started, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _descendants(pid: int) -> list[int]:
    """Every process under `pid` (a Spark target's JVM runs under dbt's)."""
    found, todo = [], [pid]
    while todo:
        try:
            children = [int(pid) for listing in Path(f"/proc/{todo.pop()}/task").glob("*/children") for pid in listing.read_text().split()]
        except OSError:
            continue
        found += children
        todo += children
    return found


LAST_CHILD_DESCENDANTS_PEAK_MB: float | None = None


def jvm_peak_mb() -> float | None:
    """Peak resident set of this process's Spark JVM (a child process), if one runs."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None) if gateway is not None else None
    return _vm_hwm_mb(process.pid) if process is not None else None


def run_measured(cmd: list[str], **kwargs) -> tuple[int, str, str, float, float]:
    """Run `cmd`; (exit code, stdout, stderr, peak resident set of the process in MB, wall seconds).

    The peak is the child's own high-water mark (VmHWM), sampled every 50 ms while it runs:
    wait4's ru_maxrss would not do, Linux carries the parent's RSS at fork time into it. The
    process's CPU time (user + system, all its threads) goes to LAST_CHILD_CPU_SECONDS: on a
    shared machine it says how much work the run was, whatever the wait for a CPU."""
    global LAST_CHILD_CPU_SECONDS, LAST_CHILD_DESCENDANTS_PEAK_MB
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, **kwargs)
        peak, below = None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            sample = _vm_hwm_mb(proc.pid)
            peak = sample if peak is None or (sample or 0) > peak else peak
            for child in _descendants(proc.pid):  # the largest one, e.g. the Spark target's JVM
                sample = _vm_hwm_mb(child)
                below = sample if below is None or (sample or 0) > below else below
            time.sleep(0.05)
        LAST_CHILD_DESCENDANTS_PEAK_MB = below
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        LAST_CHILD_CPU_SECONDS = usage.ru_utime + usage.ru_stime
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"), (peak or usage.ru_maxrss / 1024), wall


def paths_fingerprint(paths: pl.DataFrame) -> str:
    """Backend-independent digest of the aggregated paths (revenue rounded to cents)."""
    canon = paths.select(
        "path", "conversions", "non_conversions", pl.col("revenue").round(2)
    ).sort("path")
    return hashlib.sha256(canon.write_csv().encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- stages
def run_ingest(settings: Settings) -> dict:
    warehouse = open_warehouse(settings)
    tables: dict[str, dict] = {}
    rss_reset = reset_peak_rss()
    cpu0 = time.process_time()  # DuckDB's threads count: it runs in this process
    started = time.perf_counter()
    for table in LANDED_TABLES:
        t0 = time.perf_counter()
        rows, files = load_landed_table(settings, warehouse, table)
        tables[table.name] = {"rows": rows, "files": files, "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    rows = load_campaigns_snapshot(settings, warehouse)
    tables["campaigns"] = {"rows": rows, "files": 0, "seconds": time.perf_counter() - t0}
    total = time.perf_counter() - started
    needed = sum(tables[t]["seconds"] for t in ("touchpoints", "conversions"))
    return {"seconds": total, "cpu_seconds": time.process_time() - cpu0, "touchpoints_conversions_seconds": needed, "tables": tables,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_reset": rss_reset}


def stage_of(model: str) -> str:
    if model.startswith("stg_"):
        return "staging"
    if model in JOURNEY_MODELS:
        return "journeys"
    if model in PATH_MODELS:
        return "paths"
    if model.startswith("int_attribution_") or model in RULE_MARTS:
        return "rule_based"
    return "other"


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_dbt(settings: Settings, home: Path, backend: str, threads: int, warm: bool) -> dict:
    target_path = home / f"dbt-target-{backend}"
    log_path = home / f"dbt-logs-{backend}"
    env = {**os.environ, **settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    dbt = Path(sys.executable).with_name("dbt")
    common = [
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target", settings.dbt_target,
        "--target-path", str(target_path), "--log-path", str(log_path),
    ]
    exe = str(dbt) if dbt.exists() else "dbt"
    parse_wall = None
    if warm:
        # Untimed warm-up: a fresh --target-path has no partial_parse.msgpack, so the timed run
        # would also pay a full project parse, which repeated pipeline runs do not.
        code, out, err, _, parse_wall = run_measured([exe, "parse", *common], cwd=str(DBT_DIR), env=env)
        if code != 0:
            sys.stderr.write(out[-6000:] + err[-4000:])
            raise RuntimeError(f"dbt parse failed on {backend} (exit {code})")
    cmd = [exe, "run", *common, "--threads", str(threads), "--select", *DBT_SELECT]
    code, out, err, dbt_rss, wall = run_measured(cmd, cwd=str(DBT_DIR), env=env)
    dbt_cpu = LAST_CHILD_CPU_SECONDS
    results_file = target_path / "run_results.json"
    if code != 0 or not results_file.exists():
        sys.stderr.write(out[-6000:] + err[-4000:])
        raise RuntimeError(f"dbt run failed on {backend} (exit {code}); log in {log_path}")
    run_results = json.loads(results_file.read_text())
    nodes = []
    starts, ends = [], []
    for r in run_results["results"]:
        name = r["unique_id"].split(".")[-1]
        nodes.append({"model": name, "stage": stage_of(name), "seconds": r["execution_time"], "status": r["status"]})
        for t in r.get("timing", []):
            if t.get("name") == "execute":
                s, e = parse_ts(t.get("started_at")), parse_ts(t.get("completed_at"))
                if s and e:
                    starts.append(s)
                    ends.append(e)
    bad = [n for n in nodes if n["status"] != "success"]
    if bad:
        raise RuntimeError(f"dbt nodes not successful on {backend}: {bad}")
    stages: dict[str, float] = {}
    for n in nodes:
        stages[n["stage"]] = stages.get(n["stage"], 0.0) + n["seconds"]
    node_sum = sum(n["seconds"] for n in nodes)
    span = (max(ends) - min(starts)).total_seconds() if starts else None
    return {
        "command": " ".join(cmd[1:]),
        "threads": threads,
        "partial_parse_warm": warm,
        "parse_warmup_wall_seconds": parse_wall,  # untimed: `dbt parse` (full parse) before the run
        "wall_seconds": wall,
        "cpu_seconds": dbt_cpu,  # user + system time of the dbt process, every thread
        "peak_rss_mb": dbt_rss,  # the dbt process (DuckDB runs inside it; PostgreSQL's memory is the server's)
        "descendants_peak_rss_mb": LAST_CHILD_DESCENDANTS_PEAK_MB,  # its largest child process: Spark's JVM
        "elapsed_seconds_run_results": run_results.get("elapsed_time"),
        "node_seconds_sum": node_sum,
        "startup_overhead_seconds": wall - node_sum,  # as asked: wall - sum of node times
        "node_span_seconds": span,  # first node start -> last node end (the threads overlap)
        "outside_nodes_seconds": (wall - span) if span is not None else None,
        "stages": stages,
        "nodes": sorted(nodes, key=lambda n: -n["seconds"]),
    }


def read_paths(settings: Settings) -> tuple[pl.DataFrame, float]:
    warehouse = open_warehouse(settings)
    started = time.perf_counter()
    frame = warehouse.query(PATHS_SQL)
    paths = frame.select(
        pl.col("path").cast(pl.String),
        pl.col("conversions").cast(pl.Int64),
        pl.col("revenue").cast(pl.Float64),
        pl.col("non_conversions").cast(pl.Int64),
    )
    return paths, time.perf_counter() - started


def as_lists(paths: pl.DataFrame) -> pl.DataFrame:
    return paths.with_columns(pl.col("path").str.split(PATH_DELIMITER))


TINY_PATHS = pl.DataFrame(
    {"path": ["a > b", "b", "a > a > b"], "conversions": [1, 0, 1], "revenue": [10.0, 0.0, 5.0], "non_conversions": [1, 2, 0]}
)


def timed_runs(fn, repeat: int) -> tuple[object, dict]:
    """One untimed warm-up call on TINY_PATHS (lazy imports, first-call set-up), then
    ``repeat`` timed calls on the real paths; wall and process CPU time of each."""
    fn(TINY_PATHS)
    walls, cpus, out = [], [], None
    for _ in range(max(1, repeat)):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(None)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, {
        "seconds": min(walls),  # best of `repeat`: the machine is shared, best is the least disturbed
        "median_seconds": statistics.median(walls),
        "runs_seconds": walls,
        "cpu_seconds": min(cpus),
        "runs_cpu_seconds": cpus,
        "repeat": len(walls),
    }


def run_markov(paths: pl.DataFrame, repeat: int) -> tuple[object, dict]:
    """Timed from the path-string frame the peer also gets: split + markov_attribution (order 1)."""
    result, timing = timed_runs(lambda tiny: markov_attribution(as_lists(paths if tiny is None else tiny), order=1), repeat)
    frame = as_lists(paths)
    t0 = time.perf_counter()
    markov_attribution(frame, order=1)
    call_only = time.perf_counter() - t0
    journeys = int(paths["conversions"].sum() + paths["non_conversions"].sum())
    p_expected = int(paths["conversions"].sum()) / journeys
    return result, {
        **timing,
        "call_only_seconds": call_only,  # markov_attribution alone, paths already split (one run)
        "solver": result.solver,
        "error_bound": result.error_bound,
        "conversion_probability": result.conversion_probability,
        "conversion_probability_error": abs(result.conversion_probability - p_expected),
        "removal_effects": result.removal_effects(),
    }


def run_shapley(paths: pl.DataFrame, repeat: int) -> dict:
    """split + shapley_attribution (defaults: exact up to 15 channels per set)."""
    result, timing = timed_runs(lambda tiny: shapley_attribution(as_lists(paths if tiny is None else tiny)), repeat)
    sizes = result.coalition_values["channel_set"].list.len()
    return {
        **timing,
        "distinct_channel_sets": result.coalition_values.height,
        "max_set_size": int(sizes.max()),
        "sampled_sets": len(result.sampled_sets),
    }


def run_peer(peer_python: str, paths: pl.DataFrame, workdir: Path, timeout: float, repeat: int) -> dict:
    csv = workdir / "paths_for_peer.csv"
    # sorted: the warehouse returns rows in no fixed order and the peer's simulation depends on it
    paths.sort("path").select(
        "path",
        pl.col("conversions").alias("total_conversions"),
        pl.col("revenue").alias("total_conversion_value"),
        pl.col("non_conversions").alias("total_null"),
    ).write_csv(csv)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [peer_python, "-c", PEER_CODE, json.dumps({"csv": str(csv), "repeat": repeat})],
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"peer timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - started
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("PEER_JSON ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"peer failed under {peer_python} (exit {proc.returncode}): {tail}"}
    out = json.loads(line.removeprefix("PEER_JSON "))
    out["subprocess_wall_seconds"] = wall
    return out


def compare(ours: dict[str, float], peer: dict) -> dict:
    """Removal-effect shares (normalised to sum 1) of ours (exact) vs the peer's (simulated)."""
    theirs = peer.get("removal_effects") or {}
    shares_from = "removal_effects"
    if not theirs:  # fall back to attributed conversions (proportional to removal effects)
        theirs, shares_from = peer["conversions"], "attributed conversions"
    common = sorted(set(ours) & set(theirs))
    only = sorted(set(ours) ^ set(theirs))
    m_sum = sum(ours[c] for c in common)
    t_sum = sum(theirs[c] for c in common)
    per_channel = {}
    for c in common:
        m, t = ours[c] / m_sum, theirs[c] / t_sum
        per_channel[c] = {"ours": m, "peer": t, "rel_diff": abs(t - m) / max(m, 1e-12)}
    worst = max(per_channel, key=lambda c: per_channel[c]["rel_diff"])
    out = {
        "compared": f"removal-effect shares RE_c / sum(RE) (peer: {shares_from}"
        + (f", column {peer.get('removal_effect_column')}" if shares_from == "removal_effects" else "") + ")",
        "max_rel_diff": per_channel[worst]["rel_diff"],
        "max_rel_diff_channel": worst,
        "max_abs_diff": max(abs(v["peer"] - v["ours"]) for v in per_channel.values()),
        "channels_only_on_one_side": only,
        "per_channel": per_channel,
    }
    # the peer's attributed conversions should be its removal-effect shares x total: check it
    conv = peer.get("conversions") or {}
    if conv and peer.get("removal_effects"):
        c_sum = sum(conv.get(c, 0.0) for c in common)
        out["peer_conversion_shares_vs_its_re_shares_max_abs"] = max(
            abs(conv.get(c, 0.0) / c_sum - per_channel[c]["peer"]) for c in common
        )
    # raw removal effects too, in case the peer reports them unnormalised
    if peer.get("removal_effects"):
        out["raw_removal_effect_max_rel_diff"] = max(
            abs(theirs[c] - ours[c]) / max(abs(ours[c]), 1e-12) for c in common
        )
    return out


# --------------------------------------------------------------------------- reporting
def runs_note(t: dict) -> str:
    return (
        f"best of {t['repeat']} after a warm-up (median {t['median_seconds']:.3f} s; "
        f"CPU {t['cpu_seconds']:.3f} s)"
    )


def print_table(r: dict) -> None:
    dbt = r["dbt"]
    st = dbt["stages"]
    rows = [
        ("1 ingest (landing -> raw.*, all tables)", r["ingest"]["seconds"], "wall"
         + (f"; CPU {r['ingest']['cpu_seconds']:.1f} s" if "cpu_seconds" in r["ingest"] else "")),
        ("  of which touchpoints + conversions", r["ingest"]["touchpoints_conversions_seconds"], "wall"),
        ("  staging views (dbt)", st.get("staging", 0.0), "sum of nodes"),
        ("2 journeys (dbt)", st.get("journeys", 0.0), "sum of nodes"),
        ("3 rule-based models (dbt)", st.get("rule_based", 0.0), "sum of nodes"),
        ("4 path aggregation (dbt)", st.get("paths", 0.0), "sum of nodes"),
        ("  dbt run: wall", dbt["wall_seconds"], f"{dbt['threads']} threads, "
         + ("partial parse warm (untimed `dbt parse` before: "
            f"{dbt['parse_warmup_wall_seconds']:.1f} s)" if dbt["partial_parse_warm"] else "cold: includes a full parse")),
        ("  dbt run: sum of node times", dbt["node_seconds_sum"], ""),
        ("  dbt run: CPU time of the process", dbt.get("cpu_seconds"), "user + system, all threads"),
        ("  dbt start-up overhead (wall - sum)", dbt["startup_overhead_seconds"],
         "negative: nodes overlap on the threads, see next two lines" if dbt["startup_overhead_seconds"] < 0 else ""),
        ("  dbt node span (first start -> last end)", dbt["node_span_seconds"], "wall of the nodes"),
        ("  dbt outside nodes (wall - span)", dbt["outside_nodes_seconds"], "start-up + teardown"),
        ("5 Markov: read paths from warehouse", r["read_seconds"], "wall"),
        ("5 Markov: split + markov_attribution", r["markov"]["seconds"], runs_note(r["markov"])),
        ("6 Shapley: split + shapley_attribution", r["shapley"]["seconds"], runs_note(r["shapley"])),
    ]
    if "other" in st:
        rows.insert(6, ("  other dbt nodes", st["other"], "sum of nodes"))
    log(f"\n=== {r['backend']} | scale {r['scale']} (seed {r['seed']}, as of {r['as_of']}) ===")
    ps, pe = r["cpu_pressure_avg60_at_start"], r["cpu_pressure_avg60_at_end"]
    log(
        f"{r['cpu_count']} CPUs; load average (1 min) {r['load_average_at_start'][0]:.1f} at start, "
        f"{r['load_average_at_end'][0]:.1f} at the end of this backend"
        + (f"; CPU pressure (tasks waiting for a CPU, 60 s) {ps:.0f}% / {pe:.0f}%" if ps is not None and pe is not None else "")
    )
    s = r["sizes"]
    log(
        f"raw: {s['users']:,} users, {s['touchpoints']:,} touchpoints, {s['conversions']:,} conversions; "
        f"{s['unique_paths']:,} unique paths, {s['journeys']:,} journeys, {s['channels']} channels "
        f"(incl. direct), longest path {s['max_path_length']}"
    )
    log(f"{'stage':<44s} {'time':>10s}   note")
    for label, sec, note in rows:
        log(f"{label:<44s} {fmt_s(sec):>10s}   {note}")
    t = r["totals"]
    log(f"{'TOTAL from raw.* (dbt wall + read + Markov + Shapley)':<44s} {fmt_s(t['from_raw_seconds']):>10s}")
    log(f"{'TOTAL from landing files (+ ingest)':<44s} {fmt_s(t['from_landing_seconds']):>10s}")
    log(f"{'  same, without dbt outside nodes (wall-span)':<44s} {fmt_s(t['from_landing_without_dbt_startup_seconds']):>10s}")
    log("slowest dbt nodes: " + ", ".join(f"{n['model']} {n['seconds']:.2f} s" for n in dbt["nodes"][:4]))
    gen = r.get("generation") or {}
    log(
        "peak memory (RSS): "
        + (f"generation {gen['peak_rss_mb']:,.0f} MB, " if gen else "")
        + f"ingest {r['ingest']['peak_rss_mb']:,.0f} MB, dbt process {dbt['peak_rss_mb']:,.0f} MB, "
        f"read + Markov + Shapley {r['models_peak_rss_mb']:,.0f} MB"
        + (f", peer {r['peer']['max_rss_mb']:,.0f} MB" if r["peer"].get("max_rss_mb") else "")
        + (f"; Spark JVMs: ingest {r['ingest']['jvm_peak_rss_mb'] or 0:,.0f} MB, dbt's {dbt['descendants_peak_rss_mb'] or 0:,.0f} MB, "
           f"read {r['read_jvm_peak_rss_mb'] or 0:,.0f} MB" if r["backend"] == "spark" else "")
        + ("" if r["ingest"].get("peak_rss_reset") else " (high-water mark could not be reset: process peak so far)")
    )
    m = r["markov"]
    log(
        f"Markov exactness: solver {m['solver']}, error bound {m['error_bound']:.1e}, "
        f"|P(conv) - conversions/journeys| = {m['conversion_probability_error']:.1e}"
    )
    peer = r["peer"]
    if "skipped" in peer:
        log(f"peer ChannelAttribution.markov_model: SKIPPED - {peer['skipped']}")
    else:
        d = peer["defaults"]
        log(
            f"peer ChannelAttribution {peer['version']} markov_model(order=1, out_more=True), defaults: "
            + ", ".join(f"{k}={v}" for k, v in d.items())
        )
        c = r["comparison"]
        log(
            f"  time (best of {peer['repeat']} / {m['repeat']}, each after a warm-up call): peer {peer['seconds']:.3f} s "
            f"vs ours {m['seconds']:.3f} s -> ratio peer/ours {r['ratio_peer_over_ours']:.1f}x (>1: ours faster); "
            f"medians {peer['median_seconds']:.3f} / {m['median_seconds']:.3f} s -> {r['ratio_median']:.1f}x; "
            f"CPU time {peer['cpu_seconds']:.3f} / {m['cpu_seconds']:.3f} s -> {r['ratio_cpu']:.1f}x"
        )
        log(
            f"  {c['compared']}: max relative difference {c['max_rel_diff']:.4f} "
            f"({c['max_rel_diff_channel']}), max absolute {c['max_abs_diff']:.4f}"
        )
        if "raw_removal_effect_max_rel_diff" in c:
            log(f"  raw removal effects (unnormalised): max relative difference {c['raw_removal_effect_max_rel_diff']:.4f}")
    sh = r["shapley"]
    log(
        f"Shapley: {sh['distinct_channel_sets']:,} distinct channel sets, max size {sh['max_set_size']}, "
        f"{sh['sampled_sets']} sampled (rest exact)"
    )
    for tgt in r["targets"]:
        log(f"target: {tgt['target']}: {tgt['measured']} -> {tgt['verdict']}")


def targets(r: dict) -> list[dict]:
    out = []
    t = r["totals"]
    scale = r["scale"] if r["scale"] in TARGET_ALL_MODELS_S else "bench"
    at_scale = r["scale"] == scale and not r.get("users_override")
    note = "" if at_scale else f" ({r['scale']} scale{' with --users' if r.get('users_override') else ''}: not the target's scale)"
    if r["backend"] == "duckdb":
        limit = TARGET_ALL_MODELS_S[scale]
        ok = t["from_raw_seconds"] < limit
        out.append({
            "target": f"all models from raw rows < {limit:.0f} s on DuckDB on 2 cores ({scale} scale)",
            "measured": f"{t['from_raw_seconds']:.1f} s from raw.* incl. dbt start-up "
            f"({t['from_landing_seconds']:.1f} s incl. ingest)",
            "verdict": ("PASS" if ok else "FAIL") + note,
        })
        if scale == "large":
            peaks = {"dbt": r["dbt"]["peak_rss_mb"], "ingest (this process)": r["ingest"]["peak_rss_mb"],
                     "read + Markov + Shapley (this process)": r["models_peak_rss_mb"]}
            ok = max(peaks.values()) < TARGET_PEAK_RSS_MB
            out.append({
                "target": f"peak memory < {TARGET_PEAK_RSS_MB / 1024:.0f} GB per process",
                "measured": ", ".join(f"{k} {v / 1024:.2f} GB" for k, v in peaks.items()),
                "verdict": ("PASS" if ok else "FAIL") + note,
            })
    m = r["markov"]
    exact = m["error_bound"] <= EXACT_TOL and m["conversion_probability_error"] <= EXACT_TOL
    if r.get("ratio_peer_over_ours") is not None:
        ok = r["ratio_peer_over_ours"] >= TARGET_MARKOV_RATIO and exact
        cpu_ok = r["ratio_cpu"] >= TARGET_MARKOV_RATIO and exact
        out.append({
            "target": f"Markov >= {TARGET_MARKOV_RATIO:.0f}x faster than ChannelAttribution, exact",
            "measured": f"wall {r['ratio_peer_over_ours']:.1f}x (best of {m['repeat']}), CPU time "
            f"{r['ratio_cpu']:.1f}x, error bound {m['error_bound']:.1e}",
            "verdict": ("PASS" if ok else "FAIL") + f" on wall time ({'PASS' if cpu_ok else 'FAIL'} on CPU time)",
        })
    else:
        out.append({"target": "Markov exact", "measured": f"error bound {m['error_bound']:.1e}", "verdict": "PASS" if exact else "FAIL"})
    return out


# --------------------------------------------------------------------------- main
def bench_backend(backend: str, home: Path, args, pg_url: str | None, peer_python: str | None,
                  peer_reason: str) -> dict:
    settings = settings_for(home, backend, pg_url)
    log(f"\n[{backend}] ingest ...")
    ingest = run_ingest(settings)
    if backend == "spark":
        ingest["jvm_peak_rss_mb"] = jvm_peak_mb()
        open_warehouse(settings).release()  # the embedded metastore admits one JVM: dbt starts its own
    log(f"[{backend}] ingest {ingest['seconds']:.2f} s; dbt run ...")
    dbt = run_dbt(settings, home, backend, args.threads, warm=not args.cold_dbt)
    log(f"[{backend}] dbt wall {dbt['wall_seconds']:.2f} s; Markov / Shapley ...")
    reset_peak_rss()
    paths, read_s = read_paths(settings)
    markov_result, markov = run_markov(paths, args.repeat)
    shapley = run_shapley(paths, args.repeat)
    models_rss = peak_rss_mb()
    read_jvm_rss = jvm_peak_mb() if backend == "spark" else None
    fingerprint = paths_fingerprint(paths)

    if peer_python is None:
        peer = {"skipped": peer_reason}
    else:
        # Re-run per backend even on identical paths: its time must be taken under the
        # same machine load as ours (the results are the same: sorted input, fixed seed).
        log(f"[{backend}] peer ChannelAttribution.markov_model under {peer_python} ...")
        peer = run_peer(peer_python, paths, home, args.peer_timeout, args.repeat)

    lengths = paths["path"].str.split(PATH_DELIMITER).list.len()
    warehouse = open_warehouse(settings)
    users = int(warehouse.query("select count(distinct user_id) as n from raw.touchpoints")["n"][0])  # untimed
    warehouse.release()
    sizes = {
        "users": users,
        "touchpoints": ingest["tables"]["touchpoints"]["rows"],
        "conversions": ingest["tables"]["conversions"]["rows"],
        "unique_paths": paths.height,
        "journeys": int(paths["conversions"].sum() + paths["non_conversions"].sum()),
        "converting_journeys": int(paths["conversions"].sum()),
        "channels": len(markov_result.channels),
        "max_path_length": int(lengths.max()),
    }
    from_raw = dbt["wall_seconds"] + read_s + markov["seconds"] + shapley["seconds"]
    r = {
        "backend": backend,
        "scale": args.scale,
        "users_override": args.users,
        "seed": args.seed,
        "as_of": args.as_of.isoformat(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": args.load_at_start,
        "load_average_at_end": list(os.getloadavg()),
        "cpu_pressure_avg60_at_start": args.pressure_at_start,
        "cpu_pressure_avg60_at_end": cpu_pressure(),
        "sizes": sizes,
        "paths_fingerprint": fingerprint,
        "ingest": ingest,
        "dbt": dbt,
        "read_seconds": read_s,
        "models_peak_rss_mb": models_rss,  # this process during the read, Markov and Shapley
        "read_jvm_peak_rss_mb": read_jvm_rss,  # Spark: this process's JVM (started by the read)
        "markov": markov,
        "shapley": shapley,
        "peer": peer,
        "totals": {
            "from_raw_seconds": from_raw,
            "from_landing_seconds": ingest["seconds"] + from_raw,
            # dbt's time outside its nodes (start-up, parse, teardown) taken out: wall - span
            "from_landing_without_dbt_startup_seconds": ingest["seconds"] + from_raw - (dbt["outside_nodes_seconds"] or 0.0),
        },
    }
    if "skipped" not in peer:
        r["comparison"] = compare(markov["removal_effects"], peer)
        r["ratio_peer_over_ours"] = peer["seconds"] / markov["seconds"]  # best / best
        r["ratio_median"] = peer["median_seconds"] / markov["median_seconds"]
        r["ratio_cpu"] = peer["cpu_seconds"] / markov["cpu_seconds"]
    r["targets"] = targets(r)
    return r


def scale_spec(scale: str, users: int | None):
    """The generator's Scale, or the large one scaled to about `users` users (--users)."""
    if users is None:
        return SCALES[scale]
    large = SCALES["large"]
    return dataclasses.replace(large, name=f"large-{users}", touch_multiplier=large.touch_multiplier * users / LARGE_USERS)


def generate_into(home: Path, scale: str, users: int | None, seed: int, as_of: date) -> None:
    """Child process (--generate-into): write the demo merchant into `home`; prints its timings as JSON."""
    started = time.perf_counter()
    spec = scale_spec(scale, users)
    data = generate_streamed(spec, seed, as_of) if spec.streamed else generate(scale, seed, as_of)
    gen_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = write_demo(settings_for(home, "duckdb"), data)
    # streamed scales draw their big tables while writing: the second figure holds most of the work
    print("GENERATED " + json.dumps({"generate_seconds": gen_s, "write_demo_seconds": time.perf_counter() - started,
                                     "streamed": spec.streamed, "rows": counts}))


def generate_measured(home: Path, scale: str, users: int | None, seed: int, as_of: date) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--generate-into", str(home), "--scale", scale,
           "--seed", str(seed), "--as-of", as_of.isoformat(), *(["--users", str(users)] if users else [])]
    code, out, err, rss, wall = run_measured(cmd)
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("GENERATED ")), None)
    if code != 0 or line is None:
        sys.stderr.write(out[-4000:] + err[-6000:])
        raise RuntimeError(f"generating scale {scale} failed (exit {code})")
    return {**json.loads(line.removeprefix("GENERATED ")), "wall_seconds": wall, "cpu_seconds": LAST_CHILD_CPU_SECONDS, "peak_rss_mb": rss}


def bench_scale(args, backends: list[str], peer_python: str | None, peer_reason: str, pg_skip: str | None) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="bench-attribution-", dir="/tmp"))
    db_name = None
    results: list[dict] = []
    try:
        sized = f" (--users {args.users:,})" if args.users else ""
        log(f"home {home}; generating scale {args.scale}{sized} (seed {args.seed}, as of {args.as_of}) in a subprocess ...")
        gen = generate_measured(home, args.scale, args.users, args.seed, args.as_of)
        log(f"generated in {gen['generate_seconds']:.1f} s, store + landing files written in {gen['write_demo_seconds']:.1f} s"
            f"{' (the streamed tables are drawn while written)' if gen['streamed'] else ''}; peak memory {gen['peak_rss_mb']:,.0f} MB "
            "(not benchmarked)")
        for backend in backends:
            pg_url = None
            if backend == "postgres":
                db_name = f"bench_{secrets.token_hex(4)}"
                pg_admin(f'create database "{db_name}"')
                pg_url = f"postgresql://postgres@127.0.0.1:5432/{db_name}"
                log(f"[postgres] throwaway database {db_name}")
            r = bench_backend(backend, home, args, pg_url, peer_python, peer_reason)
            r["generate_seconds"], r["write_demo_seconds"] = gen["generate_seconds"], gen["write_demo_seconds"]
            r["generation"] = gen
            if pg_skip is not None:
                r["postgres_skipped"] = pg_skip
            if results and results[0]["paths_fingerprint"] != r["paths_fingerprint"]:
                log(f"WARNING: aggregated paths differ between {results[0]['backend']} and {backend}")
            r["paths_identical_to_first_backend"] = (not results) or results[0]["paths_fingerprint"] == r["paths_fingerprint"]
            results.append(r)
            print_table(r)
            if backend == "postgres" and db_name:
                pg_admin(f'drop database if exists "{db_name}" with (force)')
                db_name = None
    finally:
        if db_name:
            try:
                pg_admin(f'drop database if exists "{db_name}" with (force)')
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop {db_name}: {exc}")
        if args.keep:
            log(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return results


GROWTH_STAGES = (
    ("generate + write (not benchmarked)", lambda r: r["generation"]["wall_seconds"]),
    ("1 ingest", lambda r: r["ingest"]["seconds"]),
    ("  staging views (dbt)", lambda r: r["dbt"]["stages"].get("staging", 0.0)),
    ("2 journeys (dbt)", lambda r: r["dbt"]["stages"].get("journeys", 0.0)),
    ("3 rule-based models (dbt)", lambda r: r["dbt"]["stages"].get("rule_based", 0.0)),
    ("4 path aggregation (dbt)", lambda r: r["dbt"]["stages"].get("paths", 0.0)),
    ("  dbt run: wall", lambda r: r["dbt"]["wall_seconds"]),
    ("  dbt outside nodes (wall - span)", lambda r: r["dbt"]["outside_nodes_seconds"]),
    ("  dbt run: CPU time", lambda r: r["dbt"].get("cpu_seconds")),
    ("1 ingest: CPU time", lambda r: r["ingest"].get("cpu_seconds")),
    ("generate + write: CPU time", lambda r: r["generation"].get("cpu_seconds")),
    ("5 read paths", lambda r: r["read_seconds"]),
    ("5 Markov", lambda r: r["markov"]["seconds"]),
    ("6 Shapley", lambda r: r["shapley"]["seconds"]),
    ("peer ChannelAttribution", lambda r: r["peer"].get("seconds")),
    ("TOTAL from raw rows", lambda r: r["totals"]["from_raw_seconds"]),
    ("TOTAL from landing files", lambda r: r["totals"]["from_landing_seconds"]),
)
GROWTH_SIZES = ("users", "touchpoints", "conversions", "unique_paths", "journeys")
GROWTH_MEMORY = (
    ("generation", lambda r: r["generation"]["peak_rss_mb"]),
    ("ingest (this process)", lambda r: r["ingest"]["peak_rss_mb"]),
    ("dbt process", lambda r: r["dbt"]["peak_rss_mb"]),
    ("read + Markov + Shapley", lambda r: r["models_peak_rss_mb"]),
    ("peer", lambda r: r["peer"].get("max_rss_mb")),
)


def growth(results: list[dict]) -> dict:
    """Per stage, the time at each scale and the factor from one scale to the next, beside the rows' factors."""
    def ratio(a, b):
        return None if a is None or b is None or a <= 0 else b / a

    scales = [r["scale"] + (f"@{r['users_override']}" if r.get("users_override") else "") for r in results]
    out = {"scales": scales, "sizes": {}, "stages": {}, "memory_mb": {}}
    for key in GROWTH_SIZES:
        values = [r["sizes"][key] for r in results]
        out["sizes"][key] = {"values": values, "factors": [ratio(a, b) for a, b in zip(values, values[1:])]}
    for label, get in GROWTH_STAGES:
        values = [get(r) for r in results]
        out["stages"][label] = {"values": values, "factors": [ratio(a, b) for a, b in zip(values, values[1:])]}
    for label, get in GROWTH_MEMORY:
        out["memory_mb"][label] = [get(r) for r in results]
    return out


def print_growth(g: dict) -> None:
    scales = g["scales"]
    steps = [f"{a}->{b}" for a, b in zip(scales, scales[1:])]

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    log(f"\n=== growth {' -> '.join(scales)} (DuckDB; factor = time at the larger scale / time at the smaller) ===")
    log(f"{'rows':<38s} " + " ".join(f"{s:>14s}" for s in scales) + "   " + " ".join(f"{s:>14s}" for s in steps))
    for key, v in g["sizes"].items():
        log(f"{key:<38s} " + " ".join(f"{num(x, ',d'):>14s}" for x in v["values"]) + "   "
            + " ".join(f"{num(f, '.1f') + 'x':>14s}" for f in v["factors"]))
    log(f"{'stage (seconds)':<38s} " + " ".join(f"{s:>14s}" for s in scales) + "   " + " ".join(f"{s:>14s}" for s in steps))
    for label, v in g["stages"].items():
        log(f"{label:<38s} " + " ".join(f"{num(x, '.2f'):>14s}" for x in v["values"]) + "   "
            + " ".join(f"{num(f, '.1f') + 'x':>14s}" for f in v["factors"]))
    log(f"{'peak memory (MB)':<38s} " + " ".join(f"{s:>14s}" for s in scales))
    for label, values in g["memory_mb"].items():
        log(f"{label:<38s} " + " ".join(f"{num(x, ',.0f'):>14s}" for x in values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("bench", "demo", "large"), default="bench")
    parser.add_argument("--scales", default=None, help="comma-separated scales run one after the other, then a growth table (e.g. demo,bench,large); overrides --scale")
    parser.add_argument("--users", type=int, default=None, help="large scale only: about this many users instead of 10M (an intermediate size)")
    parser.add_argument("--backend", choices=("duckdb", "postgres", "both", "spark"), default="both",
                        help="both: DuckDB then PostgreSQL; spark (the spark extra, Java 17): a local PySpark sized by CAMPAIGNS_SPARK_*")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help=f"YYYY-MM-DD, last day of the generated data (default {DEFAULT_AS_OF}: fixed, so runs compare)")
    parser.add_argument("--threads", type=int, default=2, help="dbt threads (default 2: the machine's cores)")
    parser.add_argument("--cold-dbt", action="store_true", help="no untimed `dbt parse` warm-up: the timed run also does a full parse")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of Markov, Shapley and the peer, each after one warm-up call (best reported, median shown)")
    parser.add_argument("--peer-python", default=None, help="interpreter with ChannelAttribution (default: this one if it can import it, else /tmp/benchvenv/bin/python)")
    parser.add_argument("--peer-timeout", type=float, default=3600.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (and its DuckDB file)")
    parser.add_argument("--report-growth", default=None, metavar="SCALES",
                        help="no run: print the growth table from the DuckDB results saved by earlier runs of these scales (e.g. demo,bench,large)")
    parser.add_argument("--generate-into", type=Path, default=None, help=argparse.SUPPRESS)  # the generating child process
    args = parser.parse_args()
    if args.generate_into:
        generate_into(args.generate_into, args.scale, args.users, args.seed, args.as_of)
        return 0
    if args.report_growth:
        saved = [json.loads((RESULTS_DIR / f"attribution-duckdb-{s}.json").read_text()) for s in args.report_growth.split(",")]
        for r in saved:
            log(f"{r['scale']}: load average {r['load_average_at_start'][0]:.1f} at start, {r['load_average_at_end'][0]:.1f} at end")
        print_growth(growth(saved))
        return 0
    scales = args.scales.split(",") if args.scales else [args.scale]
    if unknown := [s for s in scales if s not in SCALES]:
        parser.error(f"unknown scale(s) {', '.join(unknown)}; use {', '.join(SCALES)}")
    if args.users and scales[-1] != "large":
        parser.error("--users sizes the large scale: use it with --scale large (or --scales ending in large)")
    users = args.users
    args.load_at_start = list(os.getloadavg())  # the machine is shared: record how busy it was
    args.pressure_at_start = cpu_pressure()

    backends = ["duckdb", "postgres"] if args.backend == "both" else [args.backend]
    peer_python, peer_reason = resolve_peer_python(args.peer_python)
    log(f"peer: {peer_python or 'SKIPPED'} ({peer_reason})")

    pg_skip = None
    if "postgres" in backends:
        pg_skip = postgres_available()
        if pg_skip:
            log(f"PostgreSQL leg skipped: server at 127.0.0.1:5432 does not answer ({pg_skip})")
            backends.remove("postgres")
    if not backends:
        return 1

    results: list[dict] = []
    for scale in scales:
        args.scale, args.users = scale, (users if scale == "large" else None)
        args.load_at_start, args.pressure_at_start = list(os.getloadavg()), cpu_pressure()
        scale_results = bench_scale(args, backends, peer_python, peer_reason, pg_skip)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for r in scale_results:
            line = json.dumps(r, default=str, separators=(",", ":"))
            (RESULTS_DIR / f"attribution-{r['backend']}.json").write_text(line + "\n")
            (RESULTS_DIR / f"attribution-{r['backend']}-{scale}.json").write_text(line + "\n")
        results += scale_results

    print()
    for r in results:
        print(json.dumps(r, default=str, separators=(",", ":")))
    duckdb_runs = [r for r in results if r["backend"] == "duckdb"]
    if len(duckdb_runs) > 1:
        g = growth(duckdb_runs)
        print_growth(g)
        (RESULTS_DIR / "attribution-growth.json").write_text(json.dumps(g, default=str) + "\n")
    return 0  # a benchmark: missed targets are reported above, not an error


if __name__ == "__main__":
    sys.exit(main())
