"""Email A/B tests tab: set a test up (validated), then read each variant's interval, P(beats control), P(best) and the decision."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import formatting as fmt
from dashboards import queries, ui

VARIABLE_HELP = {"subject": "one subject line per line", "content": "one email template name per line", "send_time": "one local hour (0-23) per line"}


def interval_chart(frame: pl.DataFrame, metric: str) -> alt.Chart:
    """Each variant's estimate with its 95% interval; the control's estimate as a dashed reference line."""
    fmt = ",.2f" if metric == "revenue" else ".1%"
    title = "revenue per recipient" if metric == "revenue" else f"{metric} rate"
    base = alt.Chart(frame).encode(y=alt.Y("variant:N", title=None, sort=None))
    bars = base.mark_rule(strokeWidth=3).encode(x=alt.X("low:Q", title=f"{title} (95% interval)", axis=alt.Axis(format=fmt)), x2="high:Q",
                                                color=alt.Color("role:N", title=None))
    points = base.mark_point(filled=True, size=90).encode(
        x="estimate:Q", color="role:N",
        tooltip=["variant:N", alt.Tooltip("estimate:Q", format=fmt), alt.Tooltip("low:Q", format=fmt), alt.Tooltip("high:Q", format=fmt),
                 alt.Tooltip("p_beat_control:Q", format=".3f", title="P(beats control)"), alt.Tooltip("p_best:Q", format=".3f", title="P(best)")])
    control = alt.Chart(frame.filter(pl.col("role") == "control")).mark_rule(strokeDash=[4, 4], color="#888").encode(x="estimate:Q")
    return (bars + points + control).properties(height=max(120, 40 * frame.height))


def _choices(merchant_id: str) -> tuple[dict[str, str], dict[int, str], list[str]]:
    source = queries.source()
    frame = queries.campaigns(source, merchant_id)  # newest first
    campaigns = dict(zip(frame["id"].to_list(), frame["name"].to_list(), strict=True))
    segments = {g["id"]: g["name"] for g in queries.saved_segments(source, merchant_id)}
    templates = [t["name"] for t in queries.email_templates(source, merchant_id)]
    return campaigns, segments, templates


def setup_form(merchant_id: str) -> None:
    campaigns, segments, templates = _choices(merchant_id)
    if not campaigns or not segments:
        ui.empty_state("An A/B test needs a campaign and a saved segment: create a campaign, save a segment in Audiences, then come back.")
        return
    with st.form("ab_setup", border=True):
        st.markdown("**New A/B test**")
        name = st.text_input("Test name", placeholder="e.g. Winter subject lines")
        left, right = st.columns(2)
        campaign_id = left.selectbox("Campaign", list(campaigns), format_func=lambda c: campaigns[c])
        segment_id = right.selectbox("Audience (segment)", list(segments), format_func=lambda g: segments[g])
        variable = st.radio("Variants differ by", list(VARIABLE_HELP), horizontal=True)
        values = st.text_area("Variants (the first is the control)", help=" / ".join(f"{k}: {v}" for k, v in VARIABLE_HELP.items()))
        subject = st.text_input("Shared subject line (content and send-time tests)")
        template = st.selectbox("Shared template (subject and send-time tests)", [None, *templates], format_func=lambda t: t or "built-in body")
        a, b, c = st.columns(3)
        cell_size = a.number_input("Recipients per variant", min_value=1, value=500, step=50)
        metric = b.selectbox("Winner metric", ["open", "click", "conversion", "revenue"])
        rule = c.selectbox("Decision rule", ["bayesian", "sequential"], help="bayesian: P(beats control) >= threshold; sequential: mixture SPRT at alpha")
        d, e, f, g = st.columns(4)
        threshold = d.number_input("Threshold", min_value=0.51, max_value=0.999, value=0.95, step=0.01)
        alpha = e.number_input("Alpha (sequential)", min_value=0.001, max_value=0.2, value=0.05, step=0.01)
        min_hours = f.number_input("Min hours", min_value=0, max_value=720, value=4)
        max_hours = g.number_input("Max hours", min_value=1, max_value=1440, value=72)
        fallback = st.selectbox("After max hours without a result, send", ["best_mean", "control"],
                                format_func=lambda x: "the variant with the highest posterior mean" if x == "best_mean" else "the control")
        submitted = st.form_submit_button("Create and start the test", type="primary")
    if not submitted:
        return
    lines = [line.strip() for line in values.splitlines() if line.strip()]
    key = {"subject": "subject", "content": "template", "send_time": "send_hour"}[variable]
    if variable == "send_time" and not all(line.isdigit() for line in lines):
        ui.field_error("Variants: a send-time variant is a local hour 0-23, one per line.")
        return
    spec = {"name": name or f"{variable} test", "campaign_id": campaign_id, "segment_id": segment_id, "variable": variable,
            "variants": [{key: int(line) if variable == "send_time" else line} for line in lines], "cell_size": int(cell_size), "metric": metric,
            "rule": rule, "threshold": float(threshold), "alpha": float(alpha), "min_hours": int(min_hours), "max_hours": int(max_hours),
            "fallback": fallback, "subject": subject, "template": template}
    # Here, not at the top: the A/B statistics load scipy (seconds), which the Email Designer needs only to start or read a test.
    from campaigns.email.ab_tests import launch_ab_test

    try:
        test_id = ui.write("ab_test.launch", launch_ab_test, merchant_id, spec, ui.actor(), provider=queries.settings().email_provider).id
    except (ValueError, LookupError) as exc:
        ui.field_error(str(exc))
        return
    ui.flash(f"A/B test {test_id} started: its cells are being sent by the pipeline (or `campaigns email send --campaign ID`).")
    st.rerun()


def results(merchant_id: str) -> None:
    tests = queries.ab_tests(queries.source(), merchant_id)
    if not tests:
        ui.empty_state("No A/B test yet. Set one up above; the winner is sent to the rest of the audience on its own.")
        return
    test_id = st.selectbox("Test", list(tests), format_func=lambda t: tests[t], key="ab_test_pick")
    rep = queries.ab_test_report(queries.source(), merchant_id, test_id)
    rows = [{"variant": v.label, "role": "control" if v.p_beat_control is None else "variant", "delivered": v.n, "successes": v.successes,
             "estimate": v.estimate, "low": v.low, "high": v.high, "p_beat_control": v.p_beat_control, "p_best": v.p_best}
            for v in rep.decision.variants]
    frame = pl.DataFrame(rows, schema_overrides={"p_beat_control": pl.Float64})
    if frame["delivered"].sum() == 0:
        st.caption("No copy of the cells has been delivered yet; the results appear once they are sent.")
    st.altair_chart(interval_chart(frame, rep.metric), width="stretch")
    st.dataframe(frame.rename({"p_beat_control": "P(beats control)", "p_best": "P(best)"}), hide_index=True, width="stretch")
    words = {"winner": "Winner", "control": "The control wins", "fallback": "Fallback", "wait": "No decision yet"}[rep.decision.outcome]
    (st.success if rep.decided else st.info)(f"{words}: {fmt.plain(rep.decision.reason)}")
    st.caption(f"Rule: {rep.rule} Remainder: {rep.remainder_size} contacts.")


def render(merchant_id: str) -> None:
    """The A/B tab of the Email page."""
    ui.show_flash()
    setup_form(merchant_id)
    st.subheader("Results")
    results(merchant_id)
