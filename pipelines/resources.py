"""Typed Dagster resources: settings of the store and the warehouse, and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource

from campaigns.core.settings import Settings
from campaigns.warehouse.connection import Warehouse, open_warehouse
from pipelines.dbt_project import DBT_PROJECT_DIR, dbt_executable


class CampaignsResource(dg.ConfigurableResource):
    """Where the store and the warehouse live. Unset fields fall back to CAMPAIGNS_* settings."""

    home: str | None = None
    database_url: str | None = None
    warehouse: str | None = None
    warehouse_url: str | None = None

    def settings(self) -> Settings:
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return Settings(**overrides)

    def open_warehouse(self) -> Warehouse:
        return open_warehouse(self.settings())

    @contextmanager
    def dbt_env(self) -> Iterator[None]:
        """dbt runs as a subprocess and reads its profile from the environment: set it for the call, then restore."""
        saved = dict(os.environ)
        os.environ.update(self.settings().dbt_env())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def build_resources() -> dict[str, object]:
    return {
        "campaigns": CampaignsResource(),
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()),
    }
