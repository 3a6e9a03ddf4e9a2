"""`campaigns optimize`: a curves file in, the provably optimal allocation out (`campaigns rebalance` lives in budget_commands)."""

from __future__ import annotations

# Start-up cost: the optimizer (scipy, numpy) is imported inside the command, so `campaigns --help` and
# `campaigns optimize --help` do not load it.

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campaigns.cli.output import console, fail
from campaigns.core import json_input
from optimizers.errors import AllocationError


def optimize(
    curves: Annotated[Path, typer.Option("--curves", help="JSON problem: budget, budget_mode, objective, max_change, channels with curves.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the allocation JSON.")],
) -> None:
    """Allocate a budget across channels to the provable optimum of their response curves."""
    from optimizers.allocation import optimize as solve
    from optimizers.problem import parse_problem
    from optimizers.recommendations import moves_for_result

    try:
        raw = json_input.loads(curves.read_text(encoding="utf-8"), what=str(curves))  # depth and size limits before parsing
    except FileNotFoundError:
        fail(f"{curves} does not exist; give the path of a JSON problem file")
    except json_input.JsonInputError as exc:
        fail(str(exc))
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, not UTF-8
        fail(f"{curves} cannot be read ({exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}); give a UTF-8 JSON problem file")
    try:
        problem = parse_problem(raw)  # names the channel and field of every bad input
        result = solve(problem)
    except AllocationError as exc:
        fail(str(exc))
    if out.is_dir():
        fail(f"{out} is a folder; give a file path for the result")
    try:
        out.write_text(result.to_json(), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    table = Table("channel", "current", "recommended", "marginal ROAS", title=f"{result.status}, gap {result.gap:.2e}")
    current = {c.name: c.current_spend for c in problem.channels}
    for name, amount in result.allocation.items():
        table.add_row(name, f"{current[name]:,.0f}", f"{amount:,.0f}", f"{result.marginal_roas[name]:.3f}")
    console.print(table)
    console.print(f"predicted {problem.objective}: {result.predicted_revenue:,.0f} (now {result.current_revenue:,.0f}); "
                  f"next unit of budget is worth {result.budget_shadow_price:.3f}")
    for move in moves_for_result(problem, result):
        console.print(f"  - {move.text}")
    console.print(f"written {out}")
