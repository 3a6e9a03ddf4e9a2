"""The executor of the asset jobs, chosen by the warehouse target.

DuckDB allows one writing process at a time, so on the embedded default a run's steps run one
after another in the run's own process. PostgreSQL (and a Spark cluster) take concurrent
writers: each step gets its own process and independent steps run side by side (the raw
tables of a merchant, Markov beside Shapley). The work jobs pin the in-process executor
themselves (one op each: a process per step would only add start-up time).
"""

from __future__ import annotations

import dagster as dg

# Warehouse targets whose tables several processes may write at once.
CONCURRENT_WRITERS = frozenset({"postgres", "spark"})
ONE_WRITER = frozenset({"duckdb"})


def executor_for(warehouse: str) -> dg.ExecutorDefinition:
    """The multiprocess executor where the warehouse allows concurrent writers, the in-process one on DuckDB."""
    if warehouse in CONCURRENT_WRITERS:
        return dg.multiprocess_executor
    if warehouse in ONE_WRITER:
        return dg.in_process_executor
    raise ValueError(f"unknown warehouse {warehouse!r}: expected one of {', '.join(sorted(CONCURRENT_WRITERS | ONE_WRITER))}")
