"""Formatting helpers and chart builders: the same look and the same placeholders on every page."""

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from dashboards import charts
from dashboards import formatting as fmt


@pytest.mark.parametrize("missing", [None, float("nan"), float("inf"), -math.inf])
def test_missing_values_show_the_same_placeholder_everywhere(missing) -> None:
    for render in (fmt.number, fmt.money, fmt.percent, fmt.signed_percent, fmt.ratio):
        assert render(missing) == fmt.MISSING
    assert fmt.change(missing, 10) is None and fmt.change(10, missing) is None


def test_numbers_money_percentages_and_ratios() -> None:
    assert fmt.number(1234567.891) == "1,234,568"
    assert fmt.number(Decimal("12.345"), 2) == "12.35"
    assert fmt.money(-1234.5, "EUR", 2) == "-€1,234.50"
    assert fmt.money(99, "CHF") == "99 CHF"  # no symbol: the code after the amount
    assert fmt.money(-5, "SEK") == "-5 SEK"
    assert fmt.percent(0.1234) == "12.3%"
    assert fmt.signed_percent(0.05) == "+5.0%" and fmt.signed_percent(-0.05) == "-5.0%"
    assert fmt.ratio(2.314) == "2.31x"


def test_change_is_relative_to_the_size_of_before_and_none_without_a_base() -> None:
    assert fmt.change(150, 100) == pytest.approx(0.5)
    assert fmt.change(-50, -100) == pytest.approx(0.5)  # less negative is up
    assert fmt.change(10, 0) is None


def test_days_and_moments_in_the_accounts_zone() -> None:
    assert fmt.day(None) == fmt.MISSING
    assert fmt.day(date(2026, 3, 9)) == "09 Mar 2026"
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert fmt.day(late) == "01 Dec 2026"
    assert fmt.day(late, "Asia/Tokyo") == "02 Dec 2026"  # already the next day there
    assert fmt.moment(None) == fmt.MISSING
    assert fmt.moment(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "America/New_York") == "01 Dec 2026 09:00 EST"
    assert fmt.moment(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), "America/New_York") == "01 Jul 2026 10:00 EDT"


def test_badges_labels_and_cadence() -> None:
    assert charts.STATUS_COLOURS["ACTIVE"] in fmt.status_badge("ACTIVE")
    assert "#8A8F98" in fmt.status_badge("SOMETHING_NEW")  # unknown status: the neutral grey
    assert [fmt.channel_label(c) for c in ("google_ads", "x", "EMAIL", "paid_search")] == ["Google Ads", "X", "Email", "Paid search"]
    assert fmt.per_week(1, "emails") == "1 email/wk"
    assert fmt.per_week(2.5, "posts") == "2.5 posts/wk"


def _spec(chart) -> dict:
    return chart.to_dict()


def _rows(spec: dict) -> list[dict]:
    datasets = spec["datasets"]
    return [row for rows in datasets.values() for row in rows]


def test_theme_uses_the_palette_and_registers() -> None:
    assert charts.theme()["config"]["range"]["category"] == charts.PALETTE
    charts.register_theme()
    import altair as alt

    assert alt.theme.active == "campaigns"


def test_trend_and_bar_charts_carry_their_data_and_grow_with_rows() -> None:
    daily = pl.DataFrame({"activity_date": [date(2026, 11, 1), date(2026, 11, 2)], "spend": [10.0, 20.0], "revenue": [30.0, 40.0]})
    trend = _spec(charts.spend_revenue_trend(daily))
    assert sorted({r["measure"] for r in _rows(trend)}) == ["revenue", "spend"] and len(_rows(trend)) == 4
    three = pl.DataFrame({"channel": ["a", "b", "c"], "spend": [1.0, 2.0, 3.0]})
    assert _spec(charts.channel_bars(three, "spend", "Spend"))["height"] == charts.AXIS_ALLOWANCE + 3 * 36
    alloc = pl.DataFrame({"channel": ["a", "b"], "allocated": [5.0, 6.0], "spent": [1.0, 2.0]})
    assert len(_rows(_spec(charts.allocation_bars(alloc)))) == 4
    ranking = pl.DataFrame({"name": ["w", "l"], "roas": [2.0, 0.5], "spend": [1.0, 1.0], "revenue": [2.0, 0.5]})
    spec = _spec(charts.campaign_ranking(ranking, worst_first=True))
    assert spec["height"] == charts.AXIS_ALLOWANCE + 2 * 36
    assert spec["layer"][0]["encoding"]["y"]["sort"] == "x"  # worst first


def test_budget_split_shows_shares_even_for_an_all_zero_split() -> None:
    spec = _spec(charts.budget_split({"email": 30.0, "x": 10.0}))
    shares = {r["channel"]: r["share"] for r in _rows(spec) if "channel" in r}
    assert shares == {"email": pytest.approx(0.75), "x": pytest.approx(0.25)}
    zero = _spec(charts.budget_split({"email": 0.0}))  # nothing allocated yet: no division by zero
    assert [r["share"] for r in _rows(zero) if "channel" in r] == [0.0]


def test_heatmap_calendar_comparison_and_curves() -> None:
    heat = pl.DataFrame({"weekday": [0, 6], "hour": [9, 18], "rate": [0.01, 0.02], "confidence": ["high", "low"], "posts": [3, 1]})
    assert [r["day"] for r in _rows(_spec(charts.posting_heatmap(heat)))] == ["Mon", "Sun"]
    week = pl.DataFrame({"day": ["Mon"], "hour": [9.5], "minute": [30], "status": ["QUEUED"], "account": ["@a"], "text": ["t"], "when": ["09:30"]})
    cal = _spec(charts.week_calendar(week, ["Mon", "Tue"]))
    assert cal["encoding"]["x"]["scale"]["domain"] == ["Mon", "Tue"]
    models = pl.DataFrame({"channel": ["a", "a"], "model": ["markov", "shapley"], "revenue": [1.0, 2.0]})
    assert _spec(charts.model_comparison(models, "revenue", "Revenue"))["encoding"]["y"]["title"] == "Revenue"
    rec = pl.DataFrame({"channel": ["a"], "current_daily_spend": [10.0], "recommended_daily_spend": [15.0]})
    assert sorted(r["spend"] for r in _rows(_spec(charts.current_vs_recommended(rec)))) == ["current", "recommended"]
    curve = pl.DataFrame({"spend": [0.0, 10.0], "revenue": [0.0, 25.0]})
    marks = pl.DataFrame({"label": ["current", "recommended"], "spend": [4.0, 8.0], "revenue": [12.0, 21.0]})
    spec = _spec(charts.response_curve(curve, marks, (2.0, 9.0)))
    assert len(spec["layer"]) == 3
    assert {"start": 2.0, "end": 9.0} in _rows(spec)
