"""`campaigns content ...`: approved drafts onto the channels."""

from __future__ import annotations

# Start-up cost: the store, the social context and the agents' store are imported inside the commands,
# so `campaigns content --help` loads only Typer.

from pathlib import Path
from typing import Annotated

import typer

from campaigns.cli.context import merchant_or_default as _merchant, store_session as _session
from campaigns.cli.output import console, fail
from campaigns.core.settings import get_settings

app = typer.Typer(no_args_is_help=True)

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]



def _content_id(session, merchant_id: str, draft: str) -> int:
    """cc-12 or 12 (a campaign content), or rc-5 (a repurposed output stored with a campaign: its campaign content)."""
    from agents.leo.store import get_repurposed

    kind, _, number = draft.strip().lower().rpartition("-")
    if not number.isdigit() or kind not in ("", "cc", "rc"):
        fail(f"--draft {draft!r} is not a draft id; use cc-ID or rc-ID as Content Studio and `campaigns repurpose` show them")
    if kind == "rc":
        linked = (get_repurposed(session, merchant_id, int(number)).payload or {}).get("campaign_content_id")
        if not linked:
            fail(f"rc-{number} is not stored with a campaign; repurpose with --campaign ID so its drafts become the campaign's content")
        return int(linked)
    return int(number)


@app.command("schedule")
def schedule(
    draft: Annotated[str, typer.Option("--draft", help="The approved social draft: cc-ID (or rc-ID stored with a campaign).")],
    account: Annotated[int, typer.Option("--account", help="Account id (campaigns accounts list).")],
    at: Annotated[str | None, typer.Option("--at", help="When: ISO-8601; without an offset it is the account's local time.")] = None,
    best: Annotated[bool, typer.Option("--best", help="The best slot inside the campaign's dates (the default without --at).")] = False,
    merchant: MerchantOption = None,
    actor: Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")] = "cli",
) -> None:
    """Queue an approved social draft on an account: at a time, or the best slot inside its campaign's dates."""
    from campaigns.content.approvals import NotApprovedError
    from campaigns.social.accounts import QueueError, get_account
    from campaigns.social.campaign_content import schedule_draft
    from campaigns.social.scheduling import schedule_time

    if at is not None and best:
        fail("give --at TIME or --best, not both")
    merchant_id = _merchant(merchant)
    try:
        with _session() as session:
            content_id = _content_id(session, merchant_id, draft)
            when = schedule_time(at, get_account(session, merchant_id, account).timezone) if at is not None else None
            item, note = schedule_draft(get_settings(), session, merchant_id, content_id, account, actor=actor, at=when)
            console.print(f"queued post {item.id} (cc-{content_id}) for {item.scheduled_at:%Y-%m-%d %H:%M} UTC: {note}", highlight=False)
    except (QueueError, NotApprovedError, LookupError, ValueError) as exc:
        fail(str(exc))


@app.command("to-email")
def to_email(
    draft: Annotated[str, typer.Option("--draft", help="The approved email draft: cc-ID (or rc-ID stored with a campaign).")],
    segment: Annotated[int, typer.Option("--segment", help="Segment id: who gets it (campaigns segments list).")],
    template: Annotated[str, typer.Option("--template", help="Email template name with a {{ content }} slot, e.g. Article.")],
    merchant: MerchantOption = None,
    actor: Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")] = "cli",
) -> None:
    """Make an approved email draft into a DRAFT email campaign of its campaign, its body in the template's content slot; once per draft."""
    from campaigns.content.approvals import NotApprovedError
    from campaigns.email.errors import EmailDeliveryError
    from campaigns.email.from_draft import email_from_draft

    merchant_id = _merchant(merchant)
    try:
        with _session() as session:
            content_id = _content_id(session, merchant_id, draft)
            made = email_from_draft(session, merchant_id, content_id, segment_id=segment, template_name=template, actor=actor)
            console.print(made.note, highlight=False)
    except (EmailDeliveryError, NotApprovedError, LookupError, ValueError) as exc:
        fail(str(exc))


@app.command("export-ads")
def export_ads(
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign id (cmp_...) whose approved ads copy to export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for google_ads_editor.csv and meta_bulk_upload.csv (created if missing).")],
    merchant: MerchantOption = None,
) -> None:
    """Write the campaign's approved ads copy as a Google Ads Editor CSV and a Meta bulk-upload CSV, to import in those tools."""
    from agents.leo.ads_export import export_ads as build, write_ads_files

    merchant_id = _merchant(merchant)
    try:
        with _session() as session:
            report = build(session, merchant_id, campaign)
    except LookupError as exc:
        fail(str(exc))
    for repurposed_id, reason in report.skipped.items():
        console.print(f"[yellow]skipped rc-{repurposed_id}:[/] {reason}", highlight=False)
    if not report.exported:
        fail(f"campaign {campaign} has no approved ads copy to export; repurpose a post with --campaign {campaign} --formats ads and approve it")
    google, meta = write_ads_files(report, out)
    console.print(f"exported {len(report.exported)} ads to {google} and {meta}", highlight=False)
