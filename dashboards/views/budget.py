"""Budget: current vs recommended daily spend per channel, the response curves behind it, and applying the recommendation."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import streamlit as st

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
CONFIRM_KEY, APPLIED_KEY = "budget_confirm", "budget_applied"


def allocation(recs: pl.DataFrame, currency: str) -> None:
    st.subheader("Daily spend: current and recommended")
    current, recommended = float(recs["current_daily_spend"].sum()), float(recs["recommended_daily_spend"].sum())
    predicted, now = float(recs["predicted_daily_revenue"].sum()), float(recs["current_daily_revenue"].sum())
    a, b, c = st.columns(3)
    a.metric("Current daily spend", fmt.money(current, currency), border=True)
    b.metric("Recommended daily spend", fmt.money(recommended, currency), border=True)
    c.metric("Predicted daily revenue", fmt.money(predicted, currency), fmt.signed_percent(fmt.change(predicted, now)), border=True,
             help="What the response curves predict at the recommended split, compared with the current split.")
    st.altair_chart(current_vs_recommended(recs), width="stretch")
    table = recs.with_columns((pl.col("recommended_daily_spend") - pl.col("current_daily_spend")).alias("change")).select(
        "channel", "current_daily_spend", "recommended_daily_spend", "change", "marginal_roas", "current_daily_revenue",
        "predicted_daily_revenue", "status", "gap", "outside_observed_range")
    st.dataframe(
        table, hide_index=True, width="stretch", key="budget_table",
        column_config={
            "current_daily_spend": st.column_config.NumberColumn("current / day", format="dollar"),
            "recommended_daily_spend": st.column_config.NumberColumn("recommended / day", format="dollar"),
            "change": st.column_config.NumberColumn("change / day", format="dollar"),
            "marginal_roas": st.column_config.NumberColumn("marginal ROAS", format="%.2fx",
                                                           help="Revenue from the next dollar at the recommended spend."),
            "current_daily_revenue": st.column_config.NumberColumn("revenue / day now", format="dollar"),
            "predicted_daily_revenue": st.column_config.NumberColumn("predicted revenue / day", format="dollar"),
            "gap": st.column_config.NumberColumn("optimality gap", format="%.2e"),
            "outside_observed_range": st.column_config.CheckboxColumn("outside observed spend"),
        },
    )
    statuses = sorted(set(recs["status"].to_list()))
    if statuses != ["optimal"]:
        st.warning(f"The optimiser reported {', '.join(statuses)}: treat the recommendation with care.", icon=":material/warning:")
    outside = recs.filter(pl.col("outside_observed_range"))["channel"].to_list()
    if outside:
        st.warning(f"Recommended spend for {', '.join(fmt.channel_label(c) for c in outside)} lies outside the spend seen so far: "
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
        st.markdown("\n".join(f"- {m[0].upper()}{m[1:]}" for m in moves))
    else:
        st.caption("The current split is already the recommended one.")
    st.caption(f"Allocations for {period}, the latest period stored.")
    st.dataframe(
        rows.select("channel", "allocated", "spent", "recommended"), hide_index=True, width="stretch", key="budget_allocations_table",
        column_config={k: st.column_config.NumberColumn(k, format="dollar") for k in ("allocated", "spent", "recommended")},
    )
    return rows


def apply_controls(merchant_id: str, rows: pl.DataFrame, currency: str) -> None:
    applied = st.session_state.get(APPLIED_KEY)
    if applied and applied["merchant_id"] == merchant_id:
        st.success("Applied the recommendation: "
                   + "; ".join(f"{fmt.channel_label(c)} {fmt.money(applied['previous'][c], currency)} → {fmt.money(v, currency)}"
                               for c, v in applied["applied"].items()) + ".", icon=":material/check_circle:")
        if st.button("Undo", icon=":material/undo:", key="budget_undo"):
            queries.undo_budget_apply(merchant_id, applied["audit_id"], ui.ACTOR)
            del st.session_state[APPLIED_KEY]
            ui.flash("Undone: the allocations are back to what they were before.", "info")
            st.rerun()
        return
    pending = rows.filter(pl.col("recommended").is_not_null() & (pl.col("recommended") != pl.col("allocated")))
    if pending.is_empty():
        if rows.height:
            st.caption("The stored allocations already match the recommendation.")
        return
    if not st.session_state.get(CONFIRM_KEY):
        if st.button("Apply recommendation", icon=":material/published_with_changes:", type="primary", key="budget_apply"):
            st.session_state[CONFIRM_KEY] = True
            st.rerun()
        return
    with st.container(border=True):
        st.markdown("**Apply this allocation?** The latest period's allocation per channel becomes the recommended amount "
                    "(recorded in the audit log; you can undo it).")
        st.dataframe(pending.select("channel", pl.col("allocated").alias("now"), pl.col("recommended").alias("after")), hide_index=True,
                     key="budget_confirm_table",
                     column_config={k: st.column_config.NumberColumn(k, format="dollar") for k in ("now", "after")})
        yes, no = st.columns(2)
        if yes.button("Confirm", type="primary", key="budget_confirm_yes", icon=":material/check:"):
            result = queries.apply_budget_recommendation(merchant_id, ui.ACTOR)
            st.session_state[CONFIRM_KEY] = False
            if result is not None:
                st.session_state[APPLIED_KEY] = {**result, "merchant_id": merchant_id}
            st.rerun()
        if no.button("Cancel", key="budget_confirm_no"):
            st.session_state[CONFIRM_KEY] = False
            st.rerun()


def main() -> None:
    st.title("Budget")
    ui.show_flash()
    merchant_id = ui.current_merchant()
    source = queries.source()
    currency = ui.merchant_profile(merchant_id)["currency"]
    if queries.BUDGET_RECOMMENDATIONS not in queries.marts(source):
        st.info(NO_MARTS, icon=":material/rocket_launch:")
        st.stop()
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


main()
