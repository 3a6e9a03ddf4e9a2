"""Approved ads copy as Google Ads Editor and Meta bulk-upload CSV files; unapproved versions stay out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from agents.leo.ads_export import GOOGLE_COLUMNS, META_COLUMNS, export_ads
from agents.leo.store import approve_repurposed
from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import RepurposedContent
from campaigns.lifecycle import service


def _ad(variant: int, **extra) -> dict:
    return {"format": "ads", "variant": variant, "angle": "value", "engine": "offline", "source_sentences": [],
            "headlines": [f"Warm boots {variant}", "Free returns", "Made to last"], "descriptions": ["Built for winter, with a comma.", "Ships today"],
            "primary_text": "Winter is here. Our boots are ready.", "final_url": "https://shop.example/boots?utm_source=google",
            "meta_final_url": "https://shop.example/boots?utm_source=meta", **extra}


def _seed(url: str) -> tuple[str, list[int]]:
    with session_scope(url) as s:
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        rows = [RepurposedContent(merchant_id="acme", campaign_id=c.id, source_title="Boots", source_hash="h", format="ads", variant=v, engine="offline",
                                  payload=_ad(v)) for v in (1, 2)]
        s.add_all(rows)
        s.flush()
        approve_repurposed(s, "acme", rows[0].id, "ana")
        return c.id, [r.id for r in rows]


def test_only_approved_versions_are_exported_in_both_formats(store_url: str) -> None:
    campaign_id, (approved, unapproved) = _seed(store_url)
    with session_scope(store_url) as s:
        report = export_ads(s, "acme", campaign_id)
    assert report.exported == [approved] and report.skipped == {unapproved: f"not approved in its current version: `campaigns approve rc-{unapproved}`"}
    google = list(csv.DictReader(io.StringIO(report.google_csv)))
    assert list(google[0]) == GOOGLE_COLUMNS and len(google) == 1
    assert (google[0]["Campaign"], google[0]["Ad group"], google[0]["Ad type"]) == ("Winter", "Winter - variant 1", "Responsive search ad")
    assert (google[0]["Headline 1"], google[0]["Headline 3"], google[0]["Headline 4"]) == ("Warm boots 1", "Made to last", "")
    assert google[0]["Description 1"] == "Built for winter, with a comma." and google[0]["Final URL"].endswith("utm_source=google")
    meta = list(csv.DictReader(io.StringIO(report.meta_csv)))
    assert list(meta[0]) == META_COLUMNS
    assert (meta[0]["Title"], meta[0]["Body"], meta[0]["Link"]) == ("Warm boots 1", "Winter is here. Our boots are ready.",
                                                                      "https://shop.example/boots?utm_source=meta")
    with session_scope(store_url) as s:  # an edit after approval takes it out again
        row = s.get(RepurposedContent, approved)
        row.payload = _ad(1, primary_text="Edited")
    with session_scope(store_url) as s:
        assert export_ads(s, "acme", campaign_id).exported == []


def test_the_cli_writes_both_files_or_says_why_not(home: Path, tmp_path: Path) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
    campaign_id, _ = _seed(url)
    runner = CliRunner()
    done = runner.invoke(app, ["content", "export-ads", "--campaign", campaign_id, "--out", str(tmp_path / "ads"), "--merchant", "acme"],
                         env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "exported 1 ads" in done.output and "skipped rc-" in done.output
    assert (tmp_path / "ads" / "google_ads_editor.csv").read_text(encoding="utf-8").startswith("Campaign,Ad group,Ad type,Headline 1")
    assert (tmp_path / "ads" / "meta_bulk_upload.csv").exists() and not list((tmp_path / "ads").glob(".*partial"))
    with session_scope(url) as s:
        empty = service.create_campaign(s, "acme", service.CampaignInput(name="Empty", type="CONVERSION"), actor="ana").id
    refused = runner.invoke(app, ["content", "export-ads", "--campaign", empty, "--out", str(tmp_path / "none"), "--merchant", "acme"])
    assert refused.exit_code == 2 and "no approved ads copy" in refused.output and not (tmp_path / "none").exists()
    missing = runner.invoke(app, ["content", "export-ads", "--campaign", "cmp_nope", "--out", str(tmp_path / "x"), "--merchant", "acme"])
    assert missing.exit_code == 2 and "no campaign" in missing.output
