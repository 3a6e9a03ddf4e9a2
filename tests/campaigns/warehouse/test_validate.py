"""Import validation: every bad input is named by file, row, column and fix; good input parses exactly."""

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from campaigns.warehouse.validate import MAX_SHOWN, ImportValidationError, validate_file

TOUCH_HEADER = "touchpoint_id,user_id,touched_at,channel,campaign_id,source,medium\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, kind: str) -> str:
    with pytest.raises(ImportValidationError) as info:
        validate_file(path, kind, "acme")
    assert "nothing was written" in str(info.value)
    return str(info.value)


def test_touchpoints_parse_with_zones_and_utc_default(tmp_path: Path) -> None:
    path = write(tmp_path, "tp.csv", TOUCH_HEADER + "t1,u1,2026-01-01T10:00:00Z,email,c1,newsletter,email\n"
                 "t2,u1,2026-01-02 10:00:00,x,,,\n" "t3,u2,2026-01-02T10:00:00+02:00,,,,\n" "t4,u2,2026-01-03,linkedin,,,\n")
    result = validate_file(path, "touchpoints", "acme")
    frame = result.frame
    assert frame["merchant_id"].unique().to_list() == ["acme"]
    assert frame["touched_at"].to_list() == [
        datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 2, 10, tzinfo=UTC),
        datetime(2026, 1, 2, 8, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC),
    ]
    assert frame["channel"].to_list() == ["email", "x", None, "linkedin"]
    assert frame["campaign_id"].to_list() == ["c1", None, None, None]
    assert result.notices == ["2 values in 'touched_at' had no time zone and were read as UTC"]


def test_spend_and_conversions_types(tmp_path: Path) -> None:
    spend = write(tmp_path, "s.csv", "date,campaign_id,channel,spend,impressions,clicks\n2026-01-01,c1,email,10.5,100,3\n")
    frame = validate_file(spend, "spend", "acme").frame
    assert frame.row(0, named=True) == {"merchant_id": "acme", "date": datetime(2026, 1, 1).date(), "campaign_id": "c1", "channel": "email", "spend": 10.5, "impressions": 100, "clicks": 3}
    conv = write(tmp_path, "c.csv", "conversion_id,user_id,converted_at,revenue\nv1,u1,2026-01-01T00:00:00Z,0\n")
    assert validate_file(conv, "conversions", "acme").frame["revenue"].to_list() == [0.0]


def test_row_level_problems_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", TOUCH_HEADER + "t1,u1,2026-01-01T10:00:00Z,email,,,\n" "t1,u1,yesterday,x,,,\n" ",u2,2026-01-02T10:00:00Z,,,,\n")
    message = problems(path, "touchpoints")
    assert "bad.csv, row 2 (line 3), column 'touched_at': 'yesterday' is not a timestamp; use ISO-8601" in message
    assert "row 2 (line 3), column 'touchpoint_id': duplicate touchpoint_id 't1' (first at row 1)" in message
    assert "row 3 (line 4), column 'touchpoint_id': empty; a value is required" in message


def test_negative_values_bad_numbers_and_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "date,campaign_id,channel,spend,impressions,clicks\n2026-01-32,c1,email,-1,1.5,x\n2026-01-01,c1,email,€5,1,1\n")
    message = problems(path, "spend")
    assert "column 'date': '2026-01-32' is not a date in YYYY-MM-DD form" in message
    assert "column 'spend': -1 is negative; it must be 0 or more" in message
    assert "column 'impressions': '1.5' is not a whole number" in message
    assert "row 2 (line 3), column 'spend': '€5' is not a number" in message
    conv = write(tmp_path, "c.csv", "conversion_id,user_id,converted_at,revenue\nv1,u1,2026-01-01T00:00:00Z,-3\n")
    assert "column 'revenue': -3 is negative" in problems(conv, "conversions")


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "date,campaign,channel,spend\n2026-01-01,c1,email,1\n")
    message = problems(path, "spend")
    assert "column 'campaign_id': missing required column" in message
    assert "column 'impressions': missing required column" in message
    assert "column 'campaign': unknown column; expected only date, campaign_id, channel, spend, impressions, clicks" in message


def test_duplicate_spend_key(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "date,campaign_id,channel,spend,impressions,clicks\n2026-01-01,c1,email,1,1,1\n2026-01-01,c1,email,2,2,2\n")
    assert "duplicate date/campaign_id/channel" in problems(path, "spend")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.csv", "", "malformed CSV"),
        ("t.csv", TOUCH_HEADER, "no data rows"),
        ("t.csv", TOUCH_HEADER + 't1,u1,2026-01-01T00:00:00Z,"email\n', "malformed CSV"),
        ("t.json", "{}", "unsupported file type .json"),
        ("t.parquet", "not parquet", "malformed Parquet"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, content: str, expected: str) -> None:
    assert expected in problems(write(tmp_path, name, content), "touchpoints")


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in problems(tmp_path / "nope.csv", "touchpoints")


def test_only_first_problems_are_listed(tmp_path: Path) -> None:
    rows = "".join(f"t{i},u1,not-a-date,email,,,\n" for i in range(50))
    message = problems(write(tmp_path, "t.csv", TOUCH_HEADER + rows), "touchpoints")
    assert message.count("is not a timestamp") == MAX_SHOWN
    assert f"and 30 more problems (showing the first {MAX_SHOWN})" in message


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "tp.parquet"
    pl.DataFrame({
        "touchpoint_id": ["t1"], "user_id": ["u1"], "touched_at": [datetime(2026, 1, 1, 12, tzinfo=UTC)],
        "channel": ["email"], "campaign_id": [None], "source": [None], "medium": [None],
    }, schema_overrides={"campaign_id": pl.String, "source": pl.String, "medium": pl.String}).write_parquet(path)
    frame = validate_file(path, "touchpoints", "acme").frame
    assert frame["touched_at"].to_list() == [datetime(2026, 1, 1, 12, tzinfo=UTC)]
