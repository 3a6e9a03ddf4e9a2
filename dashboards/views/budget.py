"""Budget: current vs recommended daily spend per channel, the response curves behind it, and applying the recommendation.

A shell over the budget context (the same service as `campaigns rebalance`): planning in
campaigns.budget.planning (cached per inputs, so a rerun does not solve again), apply and undo
in campaigns.budget.apply, history read from the store so an apply can be undone after a reload.
The campaign section rebalances one campaign across its channels: its curves with current and
recommended points, apply with confirmation, history with undo.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import polars as pl
import streamlit as st

from campaigns.access.roles import AccessDenied
from campaigns.budget import apply as budget_apply
from campaigns.budget.curves import curves_from_frame
from campaigns.budget.errors import RebalanceError
from campaigns.budget.models import PERIOD_DAYS, RebalancePlan
from dashboards import formatting as fmt
from dashboards import queries, ui
from dashboards.charts import current_vs_recommended, response_curve
from optimizers.curves import CurveSpec

NO_MARTS = (
    "No budget recommendation yet: the pipeline fits a response curve per channel and optimises the split. "
    "Load the demo merchant and build it:\n\n```\ncampaigns demo-data\ncampaigns build\n```\n\n"
    "or import at least a few weeks of spend and conversions with `campaigns import ...`, then run `campaigns build`."
)
CURVE_POINTS = 120
T = TypeVar("T")
# session-state keys of the requests waiting for a confirmation
APPLY_PENDING, CAMPAIGN_PENDING, UNDO_PENDING = "budget_apply_pending", "rebalance_apply_pending", "rebalance_undo_pending"


def allocation(recs: pl.DataFrame, currency: str) -> None:
    st.subheader("Daily spend: current and recommended")
    current, recommended = float(recs["current_daily_spend"].sum()), float(recs["recommended_daily_spend"].sum())
    # the mart repeats the merchant's predicted and current totals on every channel row: take them once, never sum them
    predicted, now = float(recs["predicted_daily_revenue"][0]), float(recs["current_daily_revenue"][0])
    a, b, c = st.columns(3)
    a.metric("Current daily spend", fmt.money(current, currency), border=True)
    b.metric("Recommended daily spend", fmt.money(recommended, currency), border=True)
    c.metric("Predicted daily revenue", fmt.money(predicted, currency), fmt.signed_percent(fmt.change(predicted, now)), border=True,
             help="What the response curves predict at the recommended split, compared with the current split.")
    st.altair_chart(current_vs_recommended(recs), width="stretch")
    table = recs.with_columns((pl.col("recommended_daily_spend") - pl.col("current_daily_spend")).alias("change")).select(
        "channel", "current_daily_spend", "recommended_daily_spend", "change", "marginal_roas", "status", "gap", "outside_observed_range")
    st.dataframe(
        table, hide_index=True, width="stretch", key="budget_table",
        column_config={
            "current_daily_spend": st.column_config.NumberColumn("current / day", format="dollar"),
            "recommended_daily_spend": st.column_config.NumberColumn("recommended / day", format="dollar"),
            "change": st.column_config.NumberColumn("change / day", format="dollar"),
            "marginal_roas": st.column_config.NumberColumn("marginal ROAS", format="%.2fx",
                                                           help="Revenue from the next dollar at the recommended spend."),
            "gap": st.column_config.NumberColumn("optimality gap", format="%.2e"),
            "outside_observed_range": st.column_config.CheckboxColumn("outside observed spend"),
        },
    )
    statuses = sorted(set(recs["status"].to_list()))
    if statuses != ["optimal"]:
        st.warning(f"The optimiser reported {', '.join(statuses)}: treat the recommendation with care.", icon=":material/warning:")
    outside = recs.filter(pl.col("outside_observed_range"))["channel"].to_list()
    if outside:
        st.warning(f"Recommended spend for {fmt.plain(', '.join(fmt.channel_label(c) for c in outside))} lies outside the spend seen so far: "
                   "the curve is extrapolating there, so move in steps and watch the results.", icon=":material/explore:")


def curves(recs: pl.DataFrame, fitted: pl.DataFrame, currency: str) -> None:
    st.subheader("Response curves")
    if fitted.is_empty():
        st.info("No response curves for this merchant yet: run `campaigns build` once it has a few weeks of spend.", icon=":material/show_chart:")
        return
    channel = st.selectbox("Channel", fitted["channel"].to_list(), format_func=fmt.channel_label, key="budget_curve_channel")
    row = fitted.filter(pl.col("channel") == channel).row(0, named=True)
    curve = CurveSpec.model_validate({"family": row["family"], **json.loads(row["params"])}).to_curve()
    top = 1.5 * float(row["observed_max"] or 0) or 1.0
    spend = np.linspace(0.0, top, CURVE_POINTS)
    line = pl.DataFrame({"spend": spend, "revenue": np.asarray(curve.value(spend), dtype=float)})
    rec = recs.filter(pl.col("channel") == channel)
    marks = {"current": float(row["current_daily_spend"] or 0)}
    if rec.height:
        marks["recommended"] = float(rec["recommended_daily_spend"][0])
    points = pl.DataFrame({"label": list(marks), "spend": list(marks.values()),
                           "revenue": [float(curve.value(x)) for x in marks.values()]})
    st.altair_chart(response_curve(line, points, (float(row["observed_min"] or 0), float(row["observed_max"] or 0))), width="stretch")
    marginal = fmt.ratio(rec["marginal_roas"][0]) if rec.height else fmt.MISSING
    st.caption(f"{row['family'].capitalize()} curve fitted on adstocked spend (decay {fmt.number(row['adstock_decay'], 2)}); "
               f"R² {fmt.number(row['r2'], 2)}, holdout error {fmt.money(row['holdout_rmse'], currency)}/day. "
               f"Shaded: spend seen so far ({fmt.money(row['observed_min'], currency)}–{fmt.money(row['observed_max'], currency)}/day). "
               f"Marginal ROAS at the recommended spend: {marginal}.")


def recommendations(merchant_id: str, currency: str) -> pl.DataFrame:
    st.subheader("Recommendations")
    rows = queries.latest_budget_allocations(queries.source(), merchant_id)
    if rows.is_empty():
        st.info("No budget allocations stored yet. `campaigns build` writes the latest period's allocation and recommendation.",
                icon=":material/account_balance_wallet:")
        return rows
    texts = [t for t in dict.fromkeys(rows["recommendation"].to_list()) if t]
    moves = [m.strip() for t in texts for m in t.split(";") if m.strip()]
    period = f"{fmt.day(rows['period_start'].min())} → {fmt.day(rows['period_end'].max())}"
    if moves:
        st.markdown("\n".join(f"- {fmt.plain(m[0].upper() + m[1:])}" for m in moves))
    else:
        st.caption("The current split is already the recommended one.")
    st.caption(f"Allocations for {period}, the latest period stored.")
    st.dataframe(
        rows.select("channel", "allocated", "spent", "recommended"), hide_index=True, width="stretch", key="budget_allocations_table",
        column_config={k: st.column_config.NumberColumn(k, format="dollar") for k in ("allocated", "spent", "recommended")},
    )
    return rows


def _change(action: str, service: Callable[..., T], *args: Any, done: Callable[[T], str] | None = None, kind: str = "success") -> None:
    """One budget service call through `ui.write` (its own transaction, fresh reads after), then say how it went and rerun.

    A refusal (`RebalanceError`: the plan is stale, an undo would overwrite a later change) becomes a warning.
    """
    try:
        result = ui.write(action, service, *args)
    except (RebalanceError, AccessDenied) as exc:
        ui.flash(str(exc), "warning")
    else:
        if done is not None:
            ui.flash(done(result), kind)
    st.rerun()


def apply_controls(merchant_id: str, rows: pl.DataFrame, currency: str) -> None:
    applies = queries.budget_applies(queries.source(), merchant_id)
    latest = applies[0] if applies and applies[0].undone_at is None else None
    if latest is not None:
        st.success("Applied the recommendation: "
                   + "; ".join(f"{fmt.channel_label(c)} {fmt.money(latest.previous[c], currency)} → {fmt.money(v, currency)}"
                               for c, v in latest.applied.items())
                   + f" ({latest.applied_by}, {latest.applied_at:%Y-%m-%d %H:%M} UTC).", icon=":material/check_circle:")
        if ui.can("budget.undo") and st.button("Undo", icon=":material/undo:", key="budget_undo"):
            _change("budget.undo", budget_apply.undo_recommendation, merchant_id, latest.id, ui.actor(),
                    done=lambda _: "Undone: the allocations are back to what they were before.", kind="info")
    _apply_history(applies, currency)
    pending = rows.filter(pl.col("recommended").is_not_null() & (pl.col("recommended") != pl.col("allocated")))
    if pending.is_empty():
        if rows.height and latest is None:
            st.caption("The stored allocations already match the recommendation.")
        return
    if not st.session_state.get(APPLY_PENDING):
        if ui.can("budget.apply") and st.button("Apply recommendation", icon=":material/published_with_changes:", type="primary", key="budget_apply"):
            st.session_state[APPLY_PENDING] = True
            st.rerun()
        return
    st.dataframe(pending.select("channel", pl.col("allocated").alias("now"), pl.col("recommended").alias("after")), hide_index=True,
                 key="budget_confirm_table",
                 column_config={k: st.column_config.NumberColumn(k, format="dollar") for k in ("now", "after")})
    if ui.confirm("**Apply this allocation?** The latest period's allocation per channel becomes the recommended amount "
                  "(recorded in the audit log; you can undo it).", action="budget.apply", key="budget_apply", pending=APPLY_PENDING, yes="Confirm"):
        _change("budget.apply", budget_apply.apply_recommendation, merchant_id, ui.actor())  # the page then shows what was applied


def _apply_history(applies: list[budget_apply.RecommendationApply], currency: str) -> None:
    if not applies:
        return
    with st.expander(f"Applied recommendations ({len(applies)})", icon=":material/history:"):
        st.dataframe(pl.DataFrame([{
            "id": a.id, "applied": a.applied_at, "by": a.applied_by,
            "changes": "; ".join(f"{c} {fmt.money(a.previous[c], currency)} → {fmt.money(v, currency)}" for c, v in a.applied.items()),
            "undone": a.undone_at,
        } for a in applies]), hide_index=True, width="stretch", key="budget_apply_history")


@st.cache_data(ttl=queries.TTL_SECONDS, show_spinner=False)
def campaign_plan(source_key: str, merchant_id: str, campaign_id: str, current: tuple[tuple[str, float], ...]) -> RebalancePlan | str:
    """The optimizer's plan for a campaign, cached by everything it depends on (its curves come from the cached mart read); a message
    when there is none."""
    # the optimizer (scipy) loads on a cache miss only, and usually earlier in the background (ui.warm_up)
    from campaigns.budget.planning import plan_rebalance

    frame = queries.campaign_response_curves(source_key, merchant_id)
    try:
        return plan_rebalance(campaign_id, curves_from_frame(frame.filter(pl.col("campaign_id") == campaign_id)), dict(current))
    except RebalanceError as exc:
        return str(exc)


def _curve_chart(curve_row, before_daily: float, after_daily: float):
    curve = curve_row.spec()
    model = CurveSpec.model_validate(curve).to_curve()
    top = max(1.5 * curve_row.observed_max, 1.2 * max(before_daily, after_daily), 1.0)
    spend = np.linspace(0.0, top, CURVE_POINTS)
    line = pl.DataFrame({"spend": spend, "revenue": np.asarray(model.value(spend), dtype=float)})
    marks = {"current": before_daily, "recommended": after_daily}
    points = pl.DataFrame({"label": list(marks), "spend": list(marks.values()), "revenue": [float(model.value(x)) for x in marks.values()]})
    return response_curve(line, points, (curve_row.observed_min, curve_row.observed_max))


def campaign_rebalance(merchant_id: str, currency: str) -> None:
    st.subheader("Rebalance a campaign")
    source = queries.source()
    frame = queries.campaign_response_curves(source, merchant_id)
    if frame.is_empty():
        st.info("No campaign response curves yet: they need at least 14 days of spend per campaign and channel. "
                "Run `campaigns build` after importing spend.", icon=":material/campaign:")
        return
    campaign_ids = sorted(set(frame["campaign_id"].to_list()))
    campaign_id = st.selectbox("Campaign", campaign_ids, key="rebalance_campaign")
    curves = curves_from_frame(frame.filter(pl.col("campaign_id") == campaign_id))
    current, stored = queries.campaign_budget(source, merchant_id, campaign_id)
    history = [{"id": r["id"], "applied": r["applied_at"], "by": r["applied_by"],
                "changes": "; ".join(f"{c['channel']} {fmt.money(float(c['before']), currency) if c['before'] else 'none'} → "
                                     f"{fmt.money(float(c['after']), currency)}" for c in r["changes"]),
                "predicted gain": r["predicted_gain"], "undone": r["undone_at"]} for r in stored]
    plan = campaign_plan(source, merchant_id, campaign_id, tuple(sorted(current.items())))
    if isinstance(plan, str):
        st.warning(f"No recommendation for {fmt.plain(campaign_id)}: {fmt.plain(plan)}", icon=":material/warning:")
        plan = None
    if plan is not None:
        a, b, c = st.columns(3)
        a.metric("Budget per 30 days", fmt.money(sum(ch.before for ch in plan.changes), currency), border=True)
        b.metric("Predicted revenue per 30 days", fmt.money(plan.predicted_revenue, currency),
                 fmt.signed_percent(fmt.change(plan.predicted_revenue, plan.current_revenue)), border=True)
        c.metric("Optimality gap", f"{plan.gap:.1e}", border=True, help="Relative distance to an independent upper bound: 0 proves the split optimal.")
        st.markdown("\n".join(f"- {fmt.plain(m[0].upper() + m[1:])}" for m in plan.moves) or "The current split is already the best within ±30% per channel.")
        if plan.predicted_revenue_range:
            low, high = plan.predicted_revenue_range
            st.caption(f"Over the bootstrap curves the recommended split earns {fmt.money(low, currency)}–{fmt.money(high, currency)} "
                       "per 30 days (5th–95th percentile).")
        st.dataframe(pl.DataFrame([{"channel": ch.channel, "now": ch.before, "recommended": ch.after, "marginal_roas": ch.marginal_roas,
                                    "outside_observed_range": ch.outside_observed_range or ""} for ch in plan.changes]),
                     hide_index=True, width="stretch", key="rebalance_table",
                     column_config={"now": st.column_config.NumberColumn("now / 30 days", format="dollar"),
                                    "recommended": st.column_config.NumberColumn("recommended / 30 days", format="dollar"),
                                    "marginal_roas": st.column_config.NumberColumn("marginal ROAS", format="%.2fx")})
        by_channel = {cv.channel: cv for cv in curves}
        tabs = st.tabs([fmt.plain(fmt.channel_label(ch.channel)) for ch in plan.changes])
        for tab, ch in zip(tabs, plan.changes):
            cv = by_channel[ch.channel]
            tab.altair_chart(_curve_chart(cv, ch.before / PERIOD_DAYS, ch.after / PERIOD_DAYS), width="stretch")
            tab.caption(f"{cv.family.capitalize()} curve, R² {fmt.number(cv.r2, 2)}, holdout error {fmt.money(cv.holdout_rmse, currency)}/day; "
                        "shaded: daily spend seen so far.")
        _apply_plan_controls(merchant_id, plan)
    _history(merchant_id, history, currency)


def _apply_plan_controls(merchant_id: str, plan: RebalancePlan) -> None:
    if not plan.moved:
        return
    if st.session_state.get(CAMPAIGN_PENDING) != plan.campaign_id:
        if ui.can("budget.apply") and st.button("Apply to campaign", icon=":material/published_with_changes:", key="rebalance_apply"):
            st.session_state[CAMPAIGN_PENDING] = plan.campaign_id
            st.rerun()
        return
    if ui.confirm(f"**Apply this split to {plan.campaign_id}?** Each channel's latest allocation becomes the recommended amount "
                  "(recorded in the audit log; you can undo it below).", action="budget.apply", key="rebalance_apply", pending=CAMPAIGN_PENDING, yes="Confirm"):
        _change("budget.apply", budget_apply.apply_plan, merchant_id, plan, ui.actor(), done=lambda done: f"Applied rebalance {done.id} to {plan.campaign_id}.")


def _history(merchant_id: str, history: list[dict], currency: str) -> None:
    if not history:
        st.caption("No rebalance applied to this campaign yet.")
        return
    st.markdown("**Applied rebalances**")
    st.dataframe(pl.DataFrame(history), hide_index=True, width="stretch", key="rebalance_history",
                 column_config={"predicted gain": st.column_config.NumberColumn("predicted gain / 30 days", format="dollar")})
    latest = next((h for h in history if h["undone"] is None), None)
    if latest is None:
        return
    if st.session_state.get(UNDO_PENDING) != latest["id"]:
        if ui.can("budget.undo") and st.button(f"Undo rebalance {latest['id']}", icon=":material/undo:", key="rebalance_undo"):
            st.session_state[UNDO_PENDING] = latest["id"]
            st.rerun()
        return
    if ui.confirm(f"**Undo rebalance {latest['id']}?** The allocations go back to what they were before it, if none changed since.",
                  action="budget.undo", key="rebalance_undo", pending=UNDO_PENDING, yes="Confirm undo", no="Keep it", icon=":material/undo:"):
        _change("budget.undo", budget_apply.undo_rebalance, merchant_id, latest["id"], ui.actor(),
                done=lambda _: f"Undone rebalance {latest['id']}.", kind="info")


def main() -> None:
    st.title("Budget")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    source = queries.source()
    currency = ui.merchant_profile(merchant_id)["currency"]
    if queries.BUDGET_RECOMMENDATIONS not in queries.marts(source):
        st.info(NO_MARTS, icon=":material/rocket_launch:")
        st.stop()
    stale = queries.data_driven_staleness(source)  # the same warning as the Analytics page: the curves may rest on old credits
    if stale:
        st.warning(stale, icon=":material/history:")
    recs = queries.budget_recommendations(source, merchant_id)
    if recs.is_empty():
        st.info(f"No recommendation for this merchant yet: it needs a few weeks of spend per channel. Import it with "
                f"`campaigns import spend FILE --merchant {merchant_id}`, then run `campaigns build`.", icon=":material/upload_file:")
        st.stop()
    allocation(recs, currency)
    st.divider()
    fitted = queries.response_curves(source, merchant_id) if queries.RESPONSE_CURVES in queries.marts(source) else pl.DataFrame()
    curves(recs, fitted, currency)
    st.divider()
    rows = recommendations(merchant_id, currency)
    apply_controls(merchant_id, rows, currency)
    st.divider()
    campaign_rebalance(merchant_id, currency)


main()
