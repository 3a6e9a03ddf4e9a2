"""The settings dbt reads from the environment: CAMPAIGNS_DBT_THREADS gives the DuckDB target that many threads (2 when
unset), CAMPAIGNS_SPARK_* size the `spark` target's session as they size the loader's; dbt's own profile rendering reads
them back, and the settings refuse a value dbt or Spark could not use, naming the variable."""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from campaigns.core.settings import Settings
from campaigns.warehouse.spark import SparkSize, spark_conf

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"


def _dev_threads(monkeypatch: pytest.MonkeyPatch, value: str | None) -> int:
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    if value is None:
        monkeypatch.delenv("CAMPAIGNS_DBT_THREADS", raising=False)
    else:
        monkeypatch.setenv("CAMPAIGNS_DBT_THREADS", value)
    set_from_args(Namespace(), None)
    set_invocation_context(dict(os.environ))
    raw = yaml.safe_load(PROFILES.read_text())
    return Profile.from_raw_profiles(raw, "campaign_orchestrator", ProfileRenderer({}), target_override="dev").threads


def test_the_duckdb_target_takes_its_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    assert _dev_threads(monkeypatch, None) == 2
    assert _dev_threads(monkeypatch, "1") == 1


@pytest.mark.parametrize("value", ["0", "many"])
def test_settings_refuse_a_thread_count_dbt_could_not_use(monkeypatch: pytest.MonkeyPatch, home: Path, value: str) -> None:
    monkeypatch.setenv("CAMPAIGNS_DBT_THREADS", value)
    with pytest.raises(ValidationError, match="dbt_threads"):
        Settings()


def test_a_setting_from_dotenv_reaches_dbt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # profiles.yml reads only the environment: dbt_env must carry what Settings read from `.env`
    monkeypatch.delenv("CAMPAIGNS_DBT_THREADS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CAMPAIGNS_DBT_THREADS=1\n")
    assert Settings(home=tmp_path).dbt_env()["CAMPAIGNS_DBT_THREADS"] == "1"


def _spark_parameters(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, str]:
    """The `spark` target's session parameters as dbt renders them (the adapter itself is the optional spark extra)."""
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    for name in ("CAMPAIGNS_SPARK_DRIVER_MEMORY", "CAMPAIGNS_SPARK_SHUFFLE_PARTITIONS", "CAMPAIGNS_SPARK_CODEGEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    set_from_args(Namespace(), None)
    set_invocation_context(dict(os.environ))
    raw = yaml.safe_load(PROFILES.read_text())["campaign_orchestrator"]["outputs"]["spark"]
    return ProfileRenderer({}).render_data(raw)["server_side_parameters"]


def test_the_spark_target_is_sized_as_the_loader_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = ("spark.driver.memory", "spark.sql.shuffle.partitions", "spark.sql.codegen.wholeStage")
    defaults = _spark_parameters(monkeypatch, {})
    assert [defaults[k] for k in keys] == ["1g", "2", "false"]
    assert [spark_conf(tmp_path)[k] for k in keys] == ["1g", "2", "false"]  # the loader's session: the same defaults
    assert SparkSize.of(Settings(_env_file=None, home=tmp_path)) == SparkSize()  # and the settings' own

    settings = Settings(home=tmp_path, warehouse="spark", spark_driver_memory="6g", spark_shuffle_partitions=48, spark_codegen=True)
    env = settings.dbt_env()
    assert env["CAMPAIGNS_DBT_TARGET"] == "spark"
    dbt_side = _spark_parameters(monkeypatch, env)
    loader_side = spark_conf(tmp_path, SparkSize.of(settings))
    assert [dbt_side[k] for k in keys] == [loader_side[k] for k in keys] == ["6g", "48", "true"]


def test_only_the_spark_warehouse_exports_the_spark_size(tmp_path: Path) -> None:
    assert not any(name.startswith("CAMPAIGNS_SPARK_") for name in Settings(home=tmp_path).dbt_env())


@pytest.mark.parametrize(("variable", "value", "fix"), [
    ("CAMPAIGNS_SPARK_DRIVER_MEMORY", "6 terabytes", "e.g. 512m or 6g"), ("CAMPAIGNS_SPARK_DRIVER_MEMORY", "0g", "at least 512m"),
    ("CAMPAIGNS_SPARK_DRIVER_MEMORY", "100m", "at least 512m"), ("CAMPAIGNS_SPARK_SHUFFLE_PARTITIONS", "0", "greater than or equal to 1"),
    ("CAMPAIGNS_SPARK_CODEGEN", "maybe", "valid boolean")])
def test_settings_refuse_a_spark_size_spark_could_not_use(monkeypatch: pytest.MonkeyPatch, home: Path, variable: str, value: str,
                                                          fix: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("CAMPAIGNS_").lower()) as refused:
        Settings()
    assert fix in str(refused.value)


@pytest.mark.parametrize(("value", "written"), [("6g", "6g"), ("6GB", "6g"), (" 1536 MB ", "1536m")])
def test_a_heap_size_is_written_as_spark_and_the_jvm_take_it(monkeypatch: pytest.MonkeyPatch, home: Path, value: str, written: str) -> None:
    monkeypatch.setenv("CAMPAIGNS_SPARK_DRIVER_MEMORY", value)
    assert Settings().spark_driver_memory == written
