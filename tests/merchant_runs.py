"""Materialize merchant-partitioned assets in tests: the partitions exist in the instance, one run covers them."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from assets.ingest.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from assets.merchants import MERCHANTS


def materialize_for(assets: Sequence, merchants: Sequence[str], resources: dict, *, known: Sequence[str] = (),
                    instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """One run of `assets` over `merchants`; the instance's merchant partitions are `known` plus `merchants` (in that order).

    With `known` empty the run covers every partition, so the assets rebuild their tables whole (as `campaigns build` does).
    """
    instance = instance or dg.DagsterInstance.ephemeral()
    missing = [m for m in (*known, *merchants) if m not in instance.get_dynamic_partitions(MERCHANTS.name)]
    if missing:
        instance.add_dynamic_partitions(MERCHANTS.name, list(dict.fromkeys(missing)))
    if len(merchants) == 1:
        return dg.materialize(assets, resources=resources, instance=instance, partition_key=merchants[0])
    keys = instance.get_dynamic_partitions(MERCHANTS.name)
    first, last = min(keys.index(m) for m in merchants), max(keys.index(m) for m in merchants)
    if set(keys[first:last + 1]) != set(merchants):
        raise ValueError(f"{merchants} are not a contiguous range of the partitions {keys}")
    return dg.materialize(assets, resources=resources, instance=instance, tags={PARTITION_RANGE_START_TAG: keys[first], PARTITION_RANGE_END_TAG: keys[last]})
