"""dbt models as assets: groups from the dbt folder, keys from model names (same on every target)."""


import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from assets.dbt_project import campaigns_dbt_project, run_target_path
from assets.resources import CampaignsResource, dbt_env_mismatches


class LayerTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Models are keyed by name alone, so DuckDB and PostgreSQL targets give the same graph.
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_group_name(dbt_resource_props)
        folder = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "models"
        return f"analytics_{folder}"


TRANSLATOR = LayerTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_model_assets() -> dg.AssetsDefinition:
    project = campaigns_dbt_project()

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=TRANSLATOR, name="dbt_models")
    def _dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, campaigns: CampaignsResource):
        expected = campaigns.dbt_env()
        # dbt reads its profile from this process's environment: a wrong one would build another warehouse.
        wrong = dbt_env_mismatches(expected, os.environ)
        if wrong:
            raise dg.Failure(
                f"dbt would not see this code location's warehouse: {', '.join(wrong)} differ from the CAMPAIGNS_* settings. "
                "Start Dagster with `campaigns serve`, or export the variables `Settings.dbt_env()` derives."
            )
        # One `dbt build` for the whole selection: each dbt start costs seconds here.
        # Its artifacts and log go under CAMPAIGNS_HOME (old runs' folders removed), not into the install tree.
        target_path = run_target_path(campaigns.settings().home_path, context.run_id)
        campaigns.open_warehouse().release()  # Spark's embedded metastore admits one JVM: dbt's
        yield from dbt.cli(["build", "--target", expected["CAMPAIGNS_DBT_TARGET"]], context=context, target_path=target_path).stream()

    return _dbt_models


def mart_keys(assets_def: dg.AssetsDefinition) -> list[dg.AssetKey]:
    return [key for key, spec in ((s.key, s) for s in assets_def.specs) if spec.group_name == "analytics_marts"]
