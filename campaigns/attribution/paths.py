"""Aggregated customer-journey paths: the common input of the attribution maths.

The warehouse aggregates raw journeys into *unique paths*::

    path (ordered channel names) | conversions | revenue | non_conversions

``conversions`` journeys with this exact path converted (bringing ``revenue``
in total) and ``non_conversions`` journeys with this path did not.

Every attribution function accepts either

* a polars ``DataFrame`` with columns ``path`` (``list[str]``),
  ``conversions``, ``revenue`` and ``non_conversions``, or
* a sequence of :class:`PathCount` (or any objects with those four
  attributes), or
* an already validated :class:`AggregatedPaths` (skips re-validation).

:func:`aggregate_paths` validates and encodes that input:

* counts must be non-negative integers (integral floats are accepted),
  revenue must be finite and non-negative, and a row with revenue but no
  conversions is rejected (that revenue could not be attributed);
* an empty or null path means the journey had no tracked touch and becomes
  ``("direct",)`` (:data:`DIRECT`);
* rows with the same path are merged (counts and revenue summed);
* rows with no journeys at all (``conversions + non_conversions == 0``) are
  dropped;
* empty input, missing columns or nothing left after dropping raise a
  ``ValueError`` that names what is missing.

Channels are encoded as integer ids into ``AggregatedPaths.channels`` (sorted
names) and the paths stored CSR-style (``flat`` channel ids, ``offsets``) so
that downstream maths is vectorised with numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import polars as pl

__all__ = [
    "DIRECT",
    "REQUIRED_COLUMNS",
    "AggregatedPaths",
    "PathCount",
    "PathsInput",
    "aggregate_paths",
]

#: Channel given to journeys whose path is empty (no tracked touch).
DIRECT = "direct"

#: Columns a polars input frame must have.
REQUIRED_COLUMNS = ("path", "conversions", "revenue", "non_conversions")


@dataclass(frozen=True, slots=True)
class PathCount:
    """One aggregated unique path.

    ``path`` is the ordered tuple of channel names touched by the journeys;
    ``conversions`` / ``non_conversions`` count the journeys with this path
    that did / did not convert, ``revenue`` is the total revenue of the
    converting ones.
    """

    path: tuple[str, ...]
    conversions: int
    revenue: float = 0.0
    non_conversions: int = 0


@dataclass(frozen=True, eq=False)
class AggregatedPaths:
    """Validated, encoded unique paths (see module docstring).

    Attributes
    ----------
    channels:
        Sorted unique channel names; channel id ``i`` is ``channels[i]``.
    flat:
        ``int32`` channel ids of all paths concatenated.
    offsets:
        ``int64`` array of length ``n_paths + 1``; path ``r`` is
        ``flat[offsets[r]:offsets[r + 1]]`` (never empty).
    conversions, non_conversions:
        ``int64`` arrays, one entry per unique path.
    revenue:
        ``float64`` array, one entry per unique path.
    path_lists:
        Optional polars ``list[str]`` series of the same paths (kept from the
        input to build output frames cheaply); see :meth:`path_series`.
    """

    channels: tuple[str, ...]
    flat: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    non_conversions: np.ndarray
    path_lists: pl.Series | None = None

    def path_series(self) -> pl.Series:
        """The unique paths as a polars ``list[str]`` series named ``path``."""
        if self.path_lists is not None:
            return self.path_lists.alias("path")
        return pl.Series("path", [list(p) for p in self.paths()], dtype=pl.List(pl.String))

    @property
    def n_paths(self) -> int:
        return int(self.conversions.shape[0])

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def journeys(self) -> np.ndarray:
        """Journeys per unique path (``conversions + non_conversions``)."""
        return self.conversions + self.non_conversions

    @property
    def row_ids(self) -> np.ndarray:
        """Path index of every entry of ``flat``."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), self.lengths)

    def path(self, i: int) -> tuple[str, ...]:
        names = self.channels
        return tuple(names[c] for c in self.flat[self.offsets[i] : self.offsets[i + 1]])

    def paths(self) -> list[tuple[str, ...]]:
        names = self.channels
        flat = self.flat.tolist()
        offs = self.offsets.tolist()
        return [tuple(names[c] for c in flat[a:b]) for a, b in zip(offs[:-1], offs[1:])]

    def to_polars(self) -> pl.DataFrame:
        """Back to the polars input format (one row per unique path)."""
        return pl.DataFrame(
            {
                "path": self.path_series(),
                "conversions": self.conversions,
                "revenue": self.revenue,
                "non_conversions": self.non_conversions,
            },
            schema={
                "path": pl.List(pl.String),
                "conversions": pl.Int64,
                "revenue": pl.Float64,
                "non_conversions": pl.Int64,
            },
        )


PathsInput = Union[pl.DataFrame, Sequence[PathCount], AggregatedPaths]


def _frame_from_records(records: Sequence[Any]) -> pl.DataFrame:
    paths: list[list[str] | None] = []
    conv: list[Any] = []
    rev: list[Any] = []
    nonc: list[Any] = []
    for i, rec in enumerate(records):
        try:
            p = rec.path
            c = rec.conversions
            r = rec.revenue
            n = rec.non_conversions
        except AttributeError as exc:
            raise TypeError(
                f"row {i}: expected a PathCount (attributes path, conversions, revenue, "
                f"non_conversions), got {type(rec).__name__}"
            ) from exc
        if isinstance(p, (str, bytes)):
            raise TypeError(
                f"row {i}: path must be a sequence of channel names, not a string ({p!r}); "
                "split it first"
            )
        paths.append(None if p is None else list(p))
        conv.append(c)
        rev.append(r)
        nonc.append(n)
    try:
        return pl.DataFrame(
            {"path": paths, "conversions": conv, "revenue": rev, "non_conversions": nonc},
            schema_overrides={"path": pl.List(pl.String)},
            strict=False,
        )
    except (TypeError, pl.exceptions.PolarsError) as exc:  # pragma: no cover - odd types
        raise TypeError(f"could not read the PathCount rows: {exc}") from exc


def _integral_counts(col: pl.Series, name: str) -> np.ndarray:
    if col.null_count():
        raise ValueError(f"column {name!r} has {col.null_count()} null value(s)")
    dt = col.dtype
    if dt.is_integer():
        arr = col.cast(pl.Int64).to_numpy()
    elif dt.is_float() or dt == pl.Decimal:
        f = col.cast(pl.Float64).to_numpy()
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise ValueError(f"column {name!r} must hold whole numbers of journeys")
        arr = f.astype(np.int64)
    else:
        raise TypeError(f"column {name!r} must be numeric, got {dt}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"column {name!r} has negative counts (min {arr.min()})")
    return np.ascontiguousarray(arr, dtype=np.int64)


def aggregate_paths(data: PathsInput) -> AggregatedPaths:
    """Validate and encode aggregated paths (see module docstring)."""
    if isinstance(data, AggregatedPaths):
        return data
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
        if missing:
            raise ValueError(
                f"paths frame is missing column(s) {missing}; expected columns "
                f"{list(REQUIRED_COLUMNS)} (path as list[str])"
            )
        df = data.select(REQUIRED_COLUMNS)
    elif isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise TypeError(
            "paths must be a polars DataFrame or a sequence of PathCount, "
            f"got {type(data).__name__}"
        )
    else:
        df = _frame_from_records(data)

    if df.height == 0:
        raise ValueError(
            "no paths given: expected at least one row of (path, conversions, revenue, "
            "non_conversions)"
        )
    pdt = df.schema["path"]
    if not isinstance(pdt, pl.List):
        raise TypeError(f"column 'path' must be list[str], got {pdt}")
    if pdt.inner != pl.String:
        df = df.with_columns(pl.col("path").cast(pl.List(pl.String)))

    conv = _integral_counts(df["conversions"], "conversions")
    nonc = _integral_counts(df["non_conversions"], "non_conversions")
    rcol = df["revenue"]
    if rcol.null_count():
        raise ValueError(f"column 'revenue' has {rcol.null_count()} null value(s)")
    if not rcol.dtype.is_numeric():
        raise TypeError(f"column 'revenue' must be numeric, got {rcol.dtype}")
    rev = rcol.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    if not np.all(np.isfinite(rev)):
        raise ValueError("column 'revenue' has non-finite values")
    if rev.size and rev.min() < 0:
        raise ValueError(f"column 'revenue' has negative values (min {rev.min()})")
    orphan = (rev > 0) & (conv == 0)
    if orphan.any():
        i = int(np.flatnonzero(orphan)[0])
        raise ValueError(
            f"{int(orphan.sum())} row(s) have revenue but no conversions (first: row {i}); "
            "that revenue cannot be attributed"
        )

    null_elems = df["path"].list.eval(pl.element().is_null()).list.any().fill_null(False)
    if null_elems.any():
        raise ValueError(f"column 'path' has null channel names in {int(null_elems.sum())} row(s)")

    journeys = conv + nonc
    df = pl.DataFrame({"path": df["path"], "conversions": conv, "revenue": rev, "non_conversions": nonc})
    if not journeys.all():  # filtering copies every list: only when a row has no journeys
        df = df.filter(pl.Series(journeys > 0))
    if df.height == 0:
        raise ValueError(
            "no journeys: every row has conversions + non_conversions == 0"
        )
    if df["path"].null_count() or df["path"].list.len().min() == 0:  # rewriting copies every list
        df = df.with_columns(
            pl.when(pl.col("path").list.len().fill_null(0) == 0)
            .then(pl.lit([DIRECT], dtype=pl.List(pl.String)))
            .otherwise(pl.col("path"))
            .alias("path")
        )
    channels = tuple(sorted(df["path"].explode().unique().to_list()))
    # An enum over the sorted names maps each name to its id without a Python dict lookup; the
    # encoded lists also hash faster than the names.
    channel_ids = pl.List(pl.Enum(list(channels)))
    encoded = df["path"].cast(channel_ids)
    # Paths from the warehouse are unique already; counting distinct path hashes costs far
    # less than grouping, so only merge when there may be something to merge (a hash
    # collision between different paths only sends us down the exact, slower branch).
    if encoded.hash().n_unique() < df.height:
        df = df.group_by("path", maintain_order=True).agg(
            pl.col("conversions").sum(), pl.col("revenue").sum(), pl.col("non_conversions").sum()
        )
        encoded = df["path"].cast(channel_ids)

    lengths = encoded.list.len().to_numpy().astype(np.int64)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = encoded.explode().to_physical().to_numpy()
    return AggregatedPaths(
        channels=channels,
        flat=np.ascontiguousarray(flat, dtype=np.int32),
        offsets=offsets,
        conversions=df["conversions"].to_numpy().astype(np.int64),
        revenue=df["revenue"].to_numpy().astype(np.float64),
        non_conversions=df["non_conversions"].to_numpy().astype(np.int64),
        path_lists=df["path"],
    )

