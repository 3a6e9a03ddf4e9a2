"""Writes a generated demo merchant: store rows, landing files, blog posts, the truth file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import polars as pl

from sqlalchemy import delete

from campaigns.demo import truth
from campaigns.demo.contact_events import demo_contact_events
from campaigns.demo.blog_posts import POSTS
from campaigns.demo.generator import DEMO_MERCHANT, DEMO_MERCHANT_NAME, DemoData
from campaigns.demo.plan import plan_demo_campaign
from campaigns.core.audit import record
from campaigns.audiences.events import store_events
from campaigns.email.templates import install_starters
from campaigns.core.merchants import ensure_merchant
from campaigns.demo.owner import create_demo_owner
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Campaign, Contact, ContactConsent, Merchant, Segment, SocialAccount
from campaigns.warehouse.landing import clear_landing, write_landing, write_landing_stream
from campaigns.warehouse.schema import LANDED_TABLES, SOCIAL_POSTS


def _reporting(frames, name: str, chunks: int, progress):
    for i, frame in enumerate(frames, 1):
        yield frame  # the writer has written the chunk when it asks for the next
        if progress:
            progress(f"{name} ({i}/{chunks})")


def write_demo(settings: Settings, data: DemoData, progress=None) -> dict[str, int]:
    """Replace the demo merchant everywhere; returns row counts written per table."""
    migrate(settings.store_url)
    counts: dict[str, int] = {}
    with session_scope(settings.store_url) as session:
        # Re-running demo-data replaces the demo tenant instead of piling up copies.
        session.execute(delete(Merchant).where(Merchant.id == DEMO_MERCHANT))
        session.flush()
        ensure_merchant(session, DEMO_MERCHANT, DEMO_MERCHANT_NAME, timezone="America/New_York", actor="demo-data")
        install_starters(session, DEMO_MERCHANT, actor="demo-data")
        for c in data.campaigns:
            session.add(
                Campaign(
                    id=c.campaign_id, merchant_id=DEMO_MERCHANT, name=c.name, type=c.type, status=c.status, channels=c.channels,
                    budget=Decimal(str(c.budget)) if c.budget is not None else None, start_date=c.start, end_date=c.end,
                    description=f"Demo campaign on {', '.join(c.channels)}", goals={"kpi": "revenue" if c.type == "CONVERSION" else "reach"},
                )
            )
        account_ids: dict[int, int] = {}
        for a in data.accounts:
            account = SocialAccount(merchant_id=DEMO_MERCHANT, platform=a["platform"], handle=a["handle"], timezone=a["timezone"])
            session.add(account)
            session.flush()
            account_ids[a["id"]] = account.id  # the store assigns ids; posting history must follow them
        session.flush()
        contacts = {
            row["contact_id"]: Contact(merchant_id=DEMO_MERCHANT, email=row["email"], first_name=row["first_name"], timezone=row["timezone"],
                                       tags=["customer"] if row["engagement"] > 0.3 else ["prospect"],
                                       attributes={"demo_contact_id": row["contact_id"]})
            for row in data.contacts.iter_rows(named=True)
        }
        session.add_all(contacts.values())
        session.flush()
        # every demo contact opted in on the shop's newsletter form a year before the demo's "today"
        consented_at = datetime.combine(data.as_of - timedelta(days=365), time(12), UTC)
        session.add_all(ContactConsent(merchant_id=DEMO_MERCHANT, contact_id=c.id, purpose="email_marketing", granted=True,
                                       source="demo: newsletter form", wording="Yes, send me news and offers by email.",
                                       occurred_at=consented_at, recorded_by="demo-data") for c in contacts.values() if c.subscribed)
        events = demo_contact_events(data, {demo_id: c.id for demo_id, c in contacts.items()})
        added_events = store_events(session, events)
        session.add(Segment(merchant_id=DEMO_MERCHANT, name="Engaged readers",
                            rules={"all": [{"event": "opened", "op": "within_days", "days": 30}]}))
        session.add(Segment(merchant_id=DEMO_MERCHANT, name="Customers", rules={"all": [{"field": "tags", "op": "contains", "value": "customer"}]}))
        session.add(Segment(merchant_id=DEMO_MERCHANT, name="Win back", rules={"all": [{"rfm": ["at_risk", "cant_lose"]}]}))
        planned = plan_demo_campaign(session, DEMO_MERCHANT, data.as_of, "America/New_York")
        create_demo_owner(session, DEMO_MERCHANT, settings.home_path / "demo")
        record(session, DEMO_MERCHANT, "demo-data", "demo.generate", "merchant", DEMO_MERCHANT, seed=data.seed, scale=data.scale.name,
               as_of=data.as_of.isoformat(), planned_campaign=planned)
        counts["campaigns"] = len(data.campaigns)
        counts["contacts"] = data.contacts.height
        counts["contact_events"] = added_events
    if progress:
        progress("store")
    clear_landing(settings.landing_dir, DEMO_MERCHANT)
    tables = dict(data.tables)
    if SOCIAL_POSTS.name in tables:
        tables[SOCIAL_POSTS.name] = tables[SOCIAL_POSTS.name].with_columns(pl.col("account_id").replace_strict(account_ids, return_dtype=pl.Int64))
    # the email events went into the store above (contact events); the ingest snapshots them from there like anyone's
    for table in LANDED_TABLES:
        frame = tables.get(table.name)
        if frame is None:
            continue
        write_landing(settings.landing_dir, table, frame)
        counts[table.name] = frame.height
        if progress:
            progress(table.name)
    # the large scale's big tables: drawn chunk by chunk while they are written, one file each
    for stream in data.streams:
        _, _, counts[stream.table.name] = write_landing_stream(settings.landing_dir, stream.table, DEMO_MERCHANT,
                                                               _reporting(stream.frames(), stream.table.name, stream.chunks, progress))
    settings.blog_dir.mkdir(parents=True, exist_ok=True)
    for name, text in POSTS.items():
        (settings.blog_dir / name).write_text(text, encoding="utf-8")
    demo_dir = settings.home_path / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    (demo_dir / "TRUTH.md").write_text(truth.markdown(), encoding="utf-8")
    (demo_dir / "truth.json").write_text(
        json.dumps({**truth.as_dict(), "seed": data.seed, "scale": data.scale.name, "as_of": data.as_of.isoformat(),
                    "extra_channels": [c.name for c in data.scale.extra_channels]}, indent=2),
        encoding="utf-8",
    )
    return counts
