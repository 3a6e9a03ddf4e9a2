"""Typed Dagster resources: where the store and the warehouse live, and dbt.

They live beside the assets, so an asset module imports them without importing the code
location: `pipelines` imports the assets, never the reverse.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from pydantic import Field

from assets.dbt_project import DBT_PROJECT_DIR, dbt_executable
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate
from campaigns.warehouse.connection import Warehouse, open_warehouse

# CampaignsResource field -> the variable that configures it (the one Settings reads).
ENV_VARS = {
    "home": "CAMPAIGNS_HOME",
    "database_url": "CAMPAIGNS_DATABASE_URL",
    "warehouse": "CAMPAIGNS_WAREHOUSE",
    "warehouse_url": "CAMPAIGNS_WAREHOUSE_URL",
}

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def migrate_once(store_url: str) -> str:
    """Bring the store at `store_url` up to date the first time this process uses it; later calls cost nothing.

    Sensors tick every minute in one long-lived process: the Alembic check runs once per store
    there, not on every tick. `campaigns build`, `campaigns serve` and `campaigns migrate`
    migrate at start too.
    """
    with _migrate_lock:
        if store_url not in _migrated:
            migrate(store_url)
            _migrated.add(store_url)
    return store_url


def forget_migrations() -> None:
    """Make the next `migrate_once` of every store check it again (tests that drop and recreate a database)."""
    with _migrate_lock:
        _migrated.clear()


class CampaignsResource(dg.ConfigurableResource):
    """Where the store and the warehouse live. Unset fields fall back to the CAMPAIGNS_* settings."""

    home: str | None = Field(default=None, description="CAMPAIGNS_HOME: folder of the embedded default (SQLite store, DuckDB warehouse).")
    database_url: str | None = Field(default=None, description="CAMPAIGNS_DATABASE_URL: the operational store; SQLite in the home when unset.")
    warehouse: str | None = Field(default=None, description="CAMPAIGNS_WAREHOUSE: duckdb, postgres or spark.")
    warehouse_url: str | None = Field(default=None, description="CAMPAIGNS_WAREHOUSE_URL: the PostgreSQL warehouse; the store's URL when unset.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CampaignsResource:
        """Each field whose variable is set becomes a `dg.EnvVar` (read when a run or tick starts, shown by name in the UI)."""
        environ = os.environ if environ is None else environ
        return cls(**{field: dg.EnvVar(name) for field, name in ENV_VARS.items() if environ.get(name)})

    def settings(self) -> Settings:
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return Settings(**overrides)

    def store_url(self) -> str:
        """The operational store's URL, its schema checked once per process (see `migrate_once`)."""
        return migrate_once(self.settings().store_url)

    def open_warehouse(self) -> Warehouse:
        return open_warehouse(self.settings())

    def dbt_env(self) -> dict[str, str]:
        """The variables `dbt_project/profiles.yml` reads, derived from the settings (no side effect)."""
        return self.settings().dbt_env()


# What profiles.yml falls back to when a variable is unset (CAMPAIGNS_HOME is relative to the dbt project).
PROFILE_DEFAULTS = {
    "CAMPAIGNS_HOME": "../data",
    "CAMPAIGNS_PG_HOST": "127.0.0.1",
    "CAMPAIGNS_PG_PORT": "5432",
    "CAMPAIGNS_PG_USER": "postgres",
    "CAMPAIGNS_PG_PASSWORD": "",
    "CAMPAIGNS_PG_DBNAME": "campaigns",
}


def dbt_env_mismatches(expected: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """Profile variables of the target whose value in `environ` (or the profile's default) differs from `expected`.

    dbt runs as a subprocess of this process and reads its profile from this process's
    environment, which the entry points set (`campaigns serve`, `campaigns build`); the target
    itself is passed on the command line, so it is not compared.
    """
    wrong = []
    # the DuckDB and Spark targets keep their files under CAMPAIGNS_HOME; PostgreSQL's come from the _PG_ variables
    used = ("CAMPAIGNS_HOME",) if expected.get("CAMPAIGNS_DBT_TARGET", "dev") in ("dev", "spark") else tuple(n for n in PROFILE_DEFAULTS if "_PG_" in n)
    for name in used:
        default = PROFILE_DEFAULTS[name]
        if name not in expected:
            continue
        value = environ.get(name, default)
        if name == "CAMPAIGNS_HOME":
            same = (DBT_PROJECT_DIR / value).resolve() == Path(expected[name]).resolve()
        else:
            same = value == expected[name]
        if not same:
            wrong.append(name)
    return wrong


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())


def build_resources() -> dict[str, object]:
    return {"campaigns": CampaignsResource.from_env(), "dbt": dbt_resource()}
