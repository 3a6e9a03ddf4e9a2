"""Whether Markov and Shapley are older than the rule-based marts they sit beside.

dbt stamps the rule-based family in `marts.build_stamps` when a run builds marts (the
on-run-end hook), the asset `data_driven_attribution` stamps the data-driven family after it.
When the rule-based stamp is the newer one, the marts that union both families mix two builds
(a build stopped between dbt and the attribution stage, or `campaigns build --select analytics`):
exports and the app say so instead of silently showing rows of different ages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

STAMPS_TABLE = "build_stamps"
RULE_BASED, DATA_DRIVEN = "rule_based", "data_driven"
STAMPS_SQL = f"select family, max(built_at) as built_at from marts.{STAMPS_TABLE} group by family"
FIX = "run `campaigns build --select attribution` to recompute them"


def stamp(family: str, at: datetime) -> pl.DataFrame:
    """The row that records `family` as built at `at` (stored as naive UTC, as dbt's stamp is)."""
    naive = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    return pl.DataFrame({"family": [family], "built_at": [naive]}, schema={"family": pl.String, "built_at": pl.Datetime("us")})


def data_driven_staleness(query: Callable[[str], pl.DataFrame]) -> str | None:
    """A warning when the data-driven outputs are older than the rule-based marts (or missing beside them); else None.

    `query` runs SQL against the marts (a warehouse's, or the app's served snapshots).
    """
    rows = query(STAMPS_SQL)
    built = {family: at for family, at in rows.iter_rows()} if rows.height else {}
    rule_based, data_driven = built.get(RULE_BASED), built.get(DATA_DRIVEN)
    if rule_based is None:
        return None
    if data_driven is None:
        return f"Markov and Shapley have not been computed since the rule-based marts were built ({_when(rule_based)}); {FIX}"
    if data_driven < rule_based:
        return (
            f"Markov and Shapley ({_when(data_driven)}) are older than the rule-based marts ({_when(rule_based)}): "
            f"their rows may cover other merchants and days; {FIX}"
        )
    return None


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"
