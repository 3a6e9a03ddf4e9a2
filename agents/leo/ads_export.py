"""A campaign's approved ads copy as the files the ad platforms import: Google Ads Editor (responsive search ads)
and Meta Ads Manager's bulk import.

Only ads whose current version is approved are exported (the approval is bound to the content hash, as for
every other channel); the others are listed with the fix. The product does not send ads: a person imports
these files into the platforms' own tools.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.leo.store import current_hash, output_of
from campaigns.content.approvals import KIND_REPURPOSED, approval_for
from campaigns.core.store.models import RepurposedContent
from campaigns.lifecycle.service import get_campaign

MAX_HEADLINES, MAX_DESCRIPTIONS = 15, 4  # a responsive search ad's asset slots
GOOGLE_COLUMNS = ["Campaign", "Ad group", "Ad type", *(f"Headline {i}" for i in range(1, MAX_HEADLINES + 1)),
                  *(f"Description {i}" for i in range(1, MAX_DESCRIPTIONS + 1)), "Final URL"]
META_COLUMNS = ["Campaign Name", "Ad Set Name", "Ad Name", "Title", "Body", "Link"]
GOOGLE_FILE, META_FILE = "google_ads_editor.csv", "meta_bulk_upload.csv"


@dataclass
class AdsExport:
    google_csv: str
    meta_csv: str
    exported: list[int] = field(default_factory=list)  # repurposed ids
    skipped: dict[int, str] = field(default_factory=dict)  # repurposed id -> why, with the fix


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def export_ads(session: Session, merchant_id: str, campaign_id: str) -> AdsExport:
    """The approved ads variants of `campaign_id` as a Google Ads Editor CSV and a Meta bulk-import CSV (one ad per variant)."""
    campaign = get_campaign(session, merchant_id, campaign_id)
    rows = session.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == merchant_id, RepurposedContent.campaign_id == campaign.id,
                                                           RepurposedContent.format == "ads").order_by(RepurposedContent.variant, RepurposedContent.id))
    google, meta, report = [], [], AdsExport("", "")
    for row in rows:
        if approval_for(session, merchant_id, KIND_REPURPOSED, row.id, current_hash(row)) is None:
            report.skipped[row.id] = f"not approved in its current version: `campaigns approve rc-{row.id}`"
            continue
        ad = output_of(row)
        headlines, descriptions = list(ad.headlines or [])[:MAX_HEADLINES], list(ad.descriptions or [])[:MAX_DESCRIPTIONS]
        name = f"{campaign.name} - variant {row.variant}"
        google.append({"Campaign": campaign.name, "Ad group": name, "Ad type": "Responsive search ad",
                       **{f"Headline {i}": h for i, h in enumerate(headlines, 1)}, **{f"Description {i}": d for i, d in enumerate(descriptions, 1)},
                       "Final URL": ad.final_url or ""})
        meta.append({"Campaign Name": campaign.name, "Ad Set Name": name, "Ad Name": f"{name} (rc-{row.id})",
                     "Title": headlines[0] if headlines else "", "Body": ad.primary_text or "", "Link": ad.meta_final_url or ad.final_url or ""})
        report.exported.append(row.id)
    report.google_csv, report.meta_csv = _csv(GOOGLE_COLUMNS, google), _csv(META_COLUMNS, meta)
    return report


def write_ads_files(report: AdsExport, folder: Path) -> tuple[Path, Path]:
    """Write the export's two files into `folder` (created if missing), each atomically: an importer never reads half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in ((GOOGLE_FILE, report.google_csv), (META_FILE, report.meta_csv)):
        partial = folder / f".{name}.partial"
        partial.write_text(text, encoding="utf-8")
        partial.replace(folder / name)
        paths.append(folder / name)
    return paths[0], paths[1]
