"""`campaigns rebalance --campaign ID [--apply] [--yes] [--undo REBALANCE_ID]`: one campaign's budget from warehouse data."""

from __future__ import annotations

# Start-up cost: the budget context (and the optimizer, the store and the warehouse with it) is imported inside
# the functions that use it, so `campaigns --help` and `campaigns rebalance --help` do not load it.

from typing import Annotated

import typer
from rich.table import Table

from campaigns.budget.errors import RebalanceError
from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings


def rebalance(
    campaign: Annotated[str | None, typer.Option("--campaign", help="Campaign id whose budget to split across its channels.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the recommended allocation (asks first; audited; undoable).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --apply or --undo: do not ask for confirmation.")] = False,
    undo: Annotated[int | None, typer.Option("--undo", help="Undo this rebalance id (if no allocation changed since).")] = None,
    history: Annotated[bool, typer.Option("--history", help="List the campaign's applied rebalances and their ids.")] = False,
    max_change: Annotated[float, typer.Option("--max-change", help="Largest move per channel, as a fraction of its current budget.")] = 0.3,
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")] = "cli",
) -> None:
    """Recommend (and with --apply, write) the revenue-optimal split of a campaign's budget across its channels."""
    from campaigns.budget import apply as svc
    from campaigns.budget.curves import warehouse_curves
    from campaigns.budget.planning import plan_rebalance
    from campaigns.core.store.db import migrate, session_scope

    settings = get_settings()
    merchant_id = merchant or settings.default_merchant
    migrate(settings.store_url)
    if undo is not None:
        _undo(settings, merchant_id, undo, yes, actor)
        return
    if not campaign:
        fail("give --campaign ID (or --undo REBALANCE_ID); list campaigns with `campaigns campaigns list`")
    try:
        with session_scope(settings.store_url) as session:
            svc.require_campaign(session, merchant_id, campaign)
            current = svc.current_allocations(session, merchant_id, campaign)
            past = [(r.id, r.applied_at, r.applied_by, r.undone_at, r.changes, r.predicted_gain)
                    for r in svc.list_rebalances(session, merchant_id, campaign)] if history else []
    except RebalanceError as exc:
        fail(str(exc))
    if history:
        _history(campaign, past)
        return
    try:
        curves = warehouse_curves(settings, merchant_id, campaign)
        if not curves:
            raise RebalanceError(f"no spend data for campaign {campaign!r}: it needs at least 14 days of spend on a channel; "
                                     f"import it with `campaigns import spend FILE --merchant {merchant_id}`, then `campaigns build`")
        plan = plan_rebalance(campaign, curves, current, max_change=max_change)
    except RebalanceError as exc:
        fail(str(exc))
    _show(plan, {c.channel: c for c in curves}, current)
    if not apply:
        if plan.moved:
            console.print(f"Apply it with [bold]campaigns rebalance --campaign {campaign} --apply[/]")
        return
    if not plan.moved:
        console.print("Already at the recommended split: nothing to apply.")
        return
    if not yes and not typer.confirm(f"Apply this allocation to campaign {campaign}?", default=False):
        console.print("Not applied.")
        raise typer.Exit(1)
    try:
        with session_scope(settings.store_url) as session:
            done = svc.apply_plan(session, merchant_id, plan, actor)
            rebalance_id = done.id
    except RebalanceError as exc:
        fail(str(exc))
    console.print(f"[green]applied[/] rebalance {rebalance_id}; undo with [bold]campaigns rebalance --undo {rebalance_id}[/]")


def _show(plan, curves, current: dict[str, float]) -> None:
    # amounts are per 30 days (campaigns.budget.planning.PERIOD_DAYS); the solver worked per day
    table = Table("channel", "now / 30 d", "recommended / 30 d", "marginal ROAS", "fit R²", "note",
                  title=f"campaign {plan.campaign_id}: {plan.status}, gap {plan.gap:.1e}")
    for c in plan.changes:
        source = "" if c.channel in current else "from recent spend"
        note = ", ".join(x for x in (source, f"{c.outside_observed_range} observed spend" if c.outside_observed_range else "") if x)
        table.add_row(c.channel, f"{c.before:,.0f}", f"{c.after:,.0f}", f"{c.marginal_roas:.2f}", f"{curves[c.channel].r2:.2f}", note)
    console.print(table)
    spread = (f" (5-95% over bootstrap curves: {plan.predicted_revenue_range[0]:,.0f} to {plan.predicted_revenue_range[1]:,.0f})"
              if plan.predicted_revenue_range else "")
    console.print(f"predicted revenue per 30 days: {plan.predicted_revenue:,.0f}{spread}, now {plan.current_revenue:,.0f}, "
                  f"gain {plan.predicted_gain:+,.0f}; next unit of budget is worth {plan.budget_shadow_price:.2f}")
    cert = plan.certificate
    console.print(f"certificate: upper bound {cert.get('upper_bound', float('nan')) * 30:,.2f} per 30 days from "
                  f"{cert.get('bound', 'a dual bound')}, optimality gap {plan.gap:.1e}")
    if plan.moves:
        for move in plan.moves:
            console.print(f"  - {move}")
    else:
        console.print("  - the current split is already optimal within the limits")
    flagged = [c.channel for c in plan.changes if c.outside_observed_range]
    if flagged:
        console.print(f"[yellow]note:[/] the recommendation for {', '.join(flagged)} is outside the spend its curve was fitted on; move in steps")


def _history(campaign: str, past: list) -> None:
    if not past:
        console.print(f"no rebalance applied to {campaign} yet")
        return
    table = Table("id", "applied", "by", "changes", "predicted gain", "undone", title=f"rebalances of {campaign}")
    for rid, at, by, undone_at, changes, gain in past:
        moves = "; ".join(f"{c['channel']} {c['before'] or 'none'} -> {c['after']}" for c in changes)
        table.add_row(str(rid), f"{at:%Y-%m-%d %H:%M}", by, moves, f"{float(gain or 0):+,.0f}", f"{undone_at:%Y-%m-%d %H:%M}" if undone_at else "")
    console.print(table)


def _undo(settings, merchant_id: str, rebalance_id: int, yes: bool, actor: str) -> None:
    from campaigns.budget import apply as svc
    from campaigns.core.store.db import session_scope

    if not yes and not typer.confirm(f"Undo rebalance {rebalance_id} (restore the allocations it changed)?", default=False):
        console.print("Not undone.")
        raise typer.Exit(1)
    try:
        with session_scope(settings.store_url) as session:
            done = svc.undo_rebalance(session, merchant_id, rebalance_id, actor)
            restored = [(c["channel"], c["before"]) for c in done.changes]
    except RebalanceError as exc:
        fail(str(exc))
    console.print(f"[green]undone[/] rebalance {rebalance_id}: " + ", ".join(f"{ch} back to {b or 'no allocation'}" for ch, b in restored))
