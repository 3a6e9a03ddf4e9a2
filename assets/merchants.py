"""Per-merchant partitions: one dynamic partition per merchant of the store.

The assets whose work grows with one merchant's data (the landed raw tables, Markov, Shapley,
the data-driven marts, campaign_metrics) are partitioned by merchant, so a large merchant's run
is its own run and the others' runs do not wait for it. The partition set follows the store:
`merchant_partitions_sensor` adds a partition when a merchant is added (`campaigns merchants add`,
the API, `campaigns demo-data`) and removes the partition of a merchant that is gone;
`campaigns build` syncs the same way before it runs. The default merchant
(CAMPAIGNS_DEFAULT_MERCHANT, the tenant GA4 rows and the CLI default to) is always a partition,
so the set is never empty and a fresh home still builds its (empty) tables.

A run over every partition (the build's one run per stage) rebuilds whole tables exactly as an
unpartitioned asset would, merchants missing from the store included; a run over some merchants
replaces only their rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dagster as dg

from assets.resources import CampaignsResource
from campaigns.core.settings import Settings

MERCHANTS = dg.DynamicPartitionsDefinition(name="merchant")
# On every run of the per-merchant jobs: the queued run coordinator allows one run per value (deploy/dagster.yaml).
MERCHANT_TAG = "campaigns/merchant"


def merchant_tags(merchant_id: str) -> dict[str, str]:
    return {MERCHANT_TAG: merchant_id}


def store_merchants(settings: Settings, store_url: str) -> list[str]:
    """The partition keys the store asks for: its merchants, and the default merchant."""
    from campaigns.core.merchants import list_merchants
    from campaigns.core.store.db import session_scope

    with session_scope(store_url) as session:
        ids = [m.id for m in list_merchants(session)]
    return sorted({*ids, settings.default_merchant})


def partition_changes(current: Sequence[str], wanted: Iterable[str]) -> tuple[list[str], list[str]]:
    """(keys to add, keys to delete) that turn `current` into `wanted`; added keys in sorted order."""
    wanted_set = set(wanted)
    return sorted(wanted_set - set(current)), [k for k in current if k not in wanted_set]


def sync_merchant_partitions(instance: dg.DagsterInstance, wanted: Iterable[str]) -> list[str]:
    """Make the instance's merchant partitions equal `wanted` (the build does this before it runs); returns the keys."""
    add, delete = partition_changes(instance.get_dynamic_partitions(MERCHANTS.name), wanted)
    if add:
        instance.add_dynamic_partitions(MERCHANTS.name, add)
    for key in delete:
        instance.delete_dynamic_partition(MERCHANTS.name, key)
    return instance.get_dynamic_partitions(MERCHANTS.name)


@dataclass(frozen=True)
class RunMerchants:
    """The merchants a run materializes, and whether they are every partition (then whole tables are rebuilt)."""

    ids: list[str]
    every: bool

    def sql_filter(self, column: str = "merchant_id") -> tuple[str, list[str]]:
        """A `where` clause (``?`` placeholders) keeping this run's merchants, and its parameters; none for every merchant."""
        if self.every:
            return "", []
        return f" where {column} in ({', '.join('?' for _ in self.ids)})", list(self.ids)


def run_merchants(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> RunMerchants:
    keys = list(context.partition_keys)
    every = set(context.instance.get_dynamic_partitions(MERCHANTS.name)) <= set(keys)
    return RunMerchants(keys, every)


@dg.sensor(name="merchant_partitions_sensor", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: one `merchant` partition per merchant of the store (and the default merchant); "
                       "a merchant added gets its partition, a merchant removed loses it.")
def merchant_partitions_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    wanted = store_merchants(campaigns.settings(), campaigns.store_url())
    add, delete = partition_changes(context.instance.get_dynamic_partitions(MERCHANTS.name), wanted)
    if not add and not delete:
        return dg.SkipReason(f"the {len(wanted)} merchant partition(s) match the store")
    requests = [*([MERCHANTS.build_add_request(add)] if add else []), *([MERCHANTS.build_delete_request(delete)] if delete else [])]
    return dg.SensorResult(dynamic_partitions_requests=requests)
