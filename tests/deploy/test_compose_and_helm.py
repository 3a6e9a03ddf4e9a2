"""deploy/docker-compose.yml and deploy/helm/values.yaml: parsed and checked, never started."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")  # ${NAME}, ${NAME:-default}, ${NAME:?message}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|API_KEY")
INLINE_URL_PASSWORD = re.compile(r"://[^:/@]+:([^@]+)@")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load(DEPLOY / "docker-compose.yml")


@pytest.fixture(scope="module")
def helm() -> dict:
    return _load(DEPLOY / "helm" / "values.yaml")


def _command(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else shlex.join(command)


def _secret_problems(env: dict[str, object]) -> list[str]:
    """Every secret is a ${VAR} reference; a URL's password too."""
    problems = []
    for name, value in env.items():
        text = "" if value is None else str(value)
        if SECRET_NAME.search(name) and text and not REFERENCE.match(text):
            problems.append(f"{name} is written inline")
        match = INLINE_URL_PASSWORD.search(text)
        if match and not REFERENCE.match(match.group(1)):
            problems.append(f"{name} has a password inline in its URL")
    return problems


def test_the_reference_services_are_there(compose) -> None:
    services = compose["services"]
    commands = {name: _command(s) for name, s in services.items()}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "dagster-webserver" in commands["dagster-webserver"]
    assert commands["dagster-daemon"].startswith("dagster-daemon run")
    assert "code-server start" in commands["code-location"] and "pipelines.definitions" in commands["code-location"]
    assert "streamlit run dashboards/app.py" in commands["app"]
    assert commands["api"].startswith("campaigns api") and "--port 8700" in commands["api"]
    assert "campaigns social publish-due" in commands["queue-worker"]
    assert str(services["queue-worker"]["deploy"]["replicas"]).startswith("${QUEUE_WORKERS"), "N workers, set at deploy time"
    assert commands["migrate"] == "campaigns migrate"
    # Webserver, daemon and code location are separate processes: the first two load the code from the third.
    workspace = _load(DEPLOY / "workspace.yaml")
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    assert server["host"] == "code-location" and f"-p {server['port']}" in commands["code-location"]


def test_every_dagster_process_mounts_the_instance_and_uses_postgres(compose) -> None:
    for name in ("code-location", "dagster-webserver", "dagster-daemon"):
        service = compose["services"][name]
        assert "./dagster.yaml:/opt/dagster/home/dagster.yaml:ro" in service["volumes"], name
        env = service["environment"]
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
        assert env["CAMPAIGNS_WAREHOUSE"] == "postgres", "the multiprocess executor and parallel runs need a warehouse with concurrent writers"
        assert env["CAMPAIGNS_DATABASE_URL"].startswith("postgresql://")


def test_ports_are_bound_to_localhost(compose) -> None:
    published = {name: s.get("ports", []) for name, s in compose["services"].items()}
    assert {"dagster-webserver", "app", "api"} <= {name for name, ports in published.items() if ports}
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port!r} on every interface"
    assert any(p.endswith(":8700") for p in published["api"])


def test_no_secret_inline(compose) -> None:
    problems = [f"{name}: {p}" for name, s in compose["services"].items() for p in _secret_problems(s.get("environment") or {})]
    assert not problems, problems


def test_the_secret_check_can_fail() -> None:
    assert _secret_problems({"POSTGRES_PASSWORD": "hunter2"}) == ["POSTGRES_PASSWORD is written inline"]
    assert _secret_problems({"CAMPAIGNS_DATABASE_URL": "postgresql://u:hunter2@db/x"}) == ["CAMPAIGNS_DATABASE_URL has a password inline in its URL"]
    assert _secret_problems({"CAMPAIGNS_TOKEN_KEY": "${CAMPAIGNS_TOKEN_KEY:?set it}",
                             "CAMPAIGNS_DATABASE_URL": "postgresql://u:${POSTGRES_PASSWORD:?x}@db/x"}) == []


def test_helm_values_for_dagsters_chart(helm) -> None:
    (deployment,) = helm["dagster-user-deployments"]["deployments"]
    assert helm["dagster-user-deployments"]["enabled"] is True
    assert {"name", "image", "dagsterApiGrpcArgs", "port"} <= set(deployment)
    assert {"repository", "tag", "pullPolicy"} <= set(deployment["image"])
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == "pipelines.definitions"
    assert deployment["envSecrets"] == [{"name": "campaigns-env"}], "settings and secrets from a Kubernetes secret"
    assert {e["name"]: e["value"] for e in deployment["env"]}["CAMPAIGNS_WAREHOUSE"] == "postgres"
    postgres = helm["postgresql"]
    assert {"enabled", "postgresqlHost", "postgresqlUsername", "postgresqlDatabase", "service"} <= set(postgres)
    assert "postgresqlPassword" not in postgres and helm["global"]["postgresqlSecretName"] and helm["generatePostgresqlPasswordSecret"] is False
    daemon = helm["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runCoordinator"]["enabled"] and daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert daemon["runMonitoring"]["enabled"] is True
    assert helm["telemetry"]["enabled"] is False
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"


def test_helm_limits_match_the_dagster_yaml(helm) -> None:
    queued = helm["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    instance = _load(DEPLOY / "dagster.yaml")["run_coordinator"]["config"]
    assert queued["tagConcurrencyLimits"] == instance["tag_concurrency_limits"]
    assert queued["dequeueIntervalSeconds"] == instance["dequeue_interval_seconds"]
    assert isinstance(queued["maxConcurrentRuns"], int)
