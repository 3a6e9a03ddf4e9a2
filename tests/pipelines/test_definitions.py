"""The code location loads, has the expected graph, and does no work at import time."""

import importlib
import subprocess
import sys

import dagster as dg

from pipelines.build import plan_stages


def test_importing_definitions_does_no_work(tmp_path) -> None:
    # A fresh interpreter: importing the module must neither parse dbt nor touch CAMPAIGNS_HOME.
    code = (
        "import assets.dbt_project as p, unittest.mock as m\n"
        "with m.patch.object(p, 'parse_project', side_effect=AssertionError('parsed at import')):\n"
        "    import pipelines.definitions\n"
        "print('ok')\n"
    )
    env = {"CAMPAIGNS_HOME": str(tmp_path / "untouched"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=importlib.import_module("pipelines").__path__[0] + "/..")
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "untouched").exists()


def test_definitions_load_with_groups_and_keys() -> None:
    from pipelines.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/touchpoints", "raw/conversions", "raw/ad_spend", "raw/campaigns", "stg_touchpoints", "overview_daily", "serving/marts_snapshot"} <= keys
    groups = {graph.get(dg.AssetKey.from_user_string(k)).group_name for k in keys if graph.get(dg.AssetKey.from_user_string(k)).is_materializable}
    assert {"ingest", "analytics_staging", "analytics_marts", "serving"} <= groups
    # lineage: dbt staging reads the ingest assets' keys; serving waits for the marts
    assert dg.AssetKey(["raw", "touchpoints"]) in graph.get(dg.AssetKey("stg_touchpoints")).parent_keys
    assert dg.AssetKey("overview_daily") in graph.get(dg.AssetKey(["serving", "marts_snapshot"])).parent_keys
    assert definitions.resolve_job_def("build_all") is not None
    check_keys = {k.name for k in definitions.resolve_asset_graph().asset_check_keys}
    assert any("freshness" in name for name in check_keys), check_keys
    stages = [stage for stage, _ in plan_stages(definitions)]
    assert stages[0] == "ingest" and stages[-1] == "serving" and "analytics" in stages


def test_unknown_group_is_a_clear_error() -> None:
    import pytest

    from pipelines.definitions import defs

    with pytest.raises(ValueError, match="no assets in group 'nope'; groups are:"):
        plan_stages(defs(), "nope")


def test_dbt_resource_uses_the_venv_dbt() -> None:
    from pathlib import Path

    from assets.dbt_project import dbt_executable

    assert Path(dbt_executable()).parent == Path(sys.executable).parent


def test_assets_never_import_the_code_location() -> None:
    # pipelines imports the assets; the reverse would be a cycle
    code = "import sys, assets.catalog, assets.resources\nassert not [m for m in sys.modules if m.split('.')[0] == 'pipelines'], 'pipelines imported'\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=importlib.import_module("pipelines").__path__[0] + "/..")
    assert out.returncode == 0, out.stderr


def test_no_private_dagster_api() -> None:
    import re
    from pathlib import Path

    root = Path(importlib.import_module("pipelines").__path__[0]).parent
    private = re.compile(r"^\s*(from|import)\s+dagster(_dbt)?\._", re.MULTILINE)
    found = [str(p.relative_to(root)) for folder in ("pipelines", "assets", "tests/pipelines", "tests/assets") for p in (root / folder).rglob("*.py")
             if private.search(p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_definitions_configure_the_store_through_env_vars(monkeypatch) -> None:
    from pipelines.definitions import defs

    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", "sqlite:///elsewhere.db")
    campaigns = defs().resources["campaigns"]
    assert campaigns.database_url == dg.EnvVar("CAMPAIGNS_DATABASE_URL")
