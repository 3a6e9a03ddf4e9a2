"""`campaigns optimize`: the documented example solves; bad input exits 2 naming the problem; nothing is written."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app

runner = CliRunner()
EXAMPLE = {
    "budget": 10000, "budget_mode": "exact", "objective": "revenue", "max_change": 0.3,
    "channels": [
        {"name": "email", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 1000, "min": 0, "max": 5000},
        {"name": "search", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 4000},
        {"name": "social", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 500, "locked": False},
    ],
}


def test_example_problem(tmp_path: Path) -> None:
    problem, out = tmp_path / "p.json", tmp_path / "a.json"
    problem.write_text(json.dumps(EXAMPLE))
    result = runner.invoke(app, ["optimize", "--curves", str(problem), "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text())
    assert {"status", "allocation", "predicted_revenue", "current_revenue", "marginal_roas", "budget_shadow_price", "gap", "solve_seconds"} <= set(answer)
    assert answer["status"] == "optimal"
    assert math.isclose(sum(answer["allocation"].values()), 10000, rel_tol=1e-9)
    # the predicted revenue is the curves evaluated at the allocation (computed here from the formulas)
    x = answer["allocation"]
    revenue = 5000 * (1 - math.exp(-x["email"] / 1200)) + 9000 * x["search"] ** 2.2 / (x["search"] ** 2.2 + 3000 ** 2.2) + 800 * math.log(1 + x["social"] / 500)
    assert math.isclose(answer["predicted_revenue"], revenue, rel_tol=1e-9)
    assert answer["predicted_revenue"] >= answer["current_revenue"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budget": -5}, "budget"),
        ({"channels": [{"name": "a", "curve": {"family": "cubic", "a": 1}, "current_spend": 1}]}, "unknown curve family"),
        ({"channels": [{"name": "a", "curve": {"family": "log", "a": float("nan"), "b": 1}, "current_spend": 1}]}, "a"),
        ({"budget": 100, "max_change": None, "channels": [{"name": "a", "curve": {"family": "log", "a": 1, "b": 1}, "current_spend": 1, "min": 200}]}, "below the channels' lower limits"),
    ],
)
def test_bad_problems_exit_2_and_write_nothing(tmp_path: Path, change: dict, message: str) -> None:
    problem, out = tmp_path / "p.json", tmp_path / "a.json"
    problem.write_text(json.dumps({**EXAMPLE, **change}))
    result = runner.invoke(app, ["optimize", "--curves", str(problem), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_unreadable_input(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{not json")
    result = runner.invoke(app, ["optimize", "--curves", str(tmp_path / "p.json"), "--out", str(tmp_path / "a.json")])
    assert result.exit_code == 2 and "not valid JSON" in result.output
    assert runner.invoke(app, ["optimize", "--curves", str(tmp_path / "none.json"), "--out", str(tmp_path / "a.json")]).exit_code == 2
