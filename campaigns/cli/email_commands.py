"""`campaigns email ...`: create and send email campaigns, unsubscribe, suppress, settle reviews.

``--campaign`` takes an email campaign id (digits) or a campaign id (``cmp_...``) that has
exactly one email campaign.
"""

from __future__ import annotations

# Start-up cost: the email stack (settings, the store and SQLAlchemy, delivery and the publishers, suppression)
# and Rich's progress bars are imported inside the commands that use them, so `campaigns --help`,
# `campaigns email --help` and each command load only what they run.

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from campaigns.cli import ab_commands, email_template_commands
from campaigns.cli.context import merchant_or_default as _merchant, migrated_store as _store, worker_id as _worker_id
from campaigns.cli.output import EXIT_UNDELIVERED, console, fail
from campaigns.core.enums import EmailCampaignStatus

if TYPE_CHECKING:
    from campaigns.email.delivery import DeliveryReport

app = typer.Typer(no_args_is_help=True, help="Create and send email campaigns; unsubscribe and suppress addresses.")

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]
CampaignOption = Annotated[str, typer.Option("--campaign", help="Email campaign id, or a campaign id (cmp_...) with exactly one email campaign.")]
DEFAULT_BATCH = 1000  # `campaigns.email.delivery.DEFAULT_BATCH`, written out so the help does not load delivery (a test keeps them equal)


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a command reports as a message with exit code 2 (bad input or a state the action does not allow)."""
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError
    from campaigns.content.approvals import NotApprovedError
    from campaigns.core.merchants import UnknownMerchantError

    return (LookupError, ValueError, NotApprovedError, UnknownMerchantError, MissingUnsubscribeKeyError)


class ProviderChoice(StrEnum):
    sandbox = "sandbox"
    smtp = "smtp"
    sendgrid = "sendgrid"
    mailgun = "mailgun"


class ReasonChoice(StrEnum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    MANUAL = "MANUAL"


class ReviewOutcome(StrEnum):
    sent = "sent"
    failed = "failed"
    resend = "resend"


@app.command()
def create(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign (cmp_...) this email belongs to.")],
    segment: Annotated[int, typer.Option("--segment", help="Segment id: who gets it.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject line; merge tags like {{ first_name }} work.")],
    template: Annotated[str | None, typer.Option("--template", help="Email template name (default: a short built-in body).")] = None,
    preview_text: Annotated[str, typer.Option("--preview-text", help="The line inboxes show after the subject.")] = "",
    send_window_hours: Annotated[int | None, typer.Option("--send-window-hours", min=1, max=72,
                                                           help="Send-time optimisation: each contact gets it at their best hour within this many hours.")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Create a DRAFT email campaign (your own subject and body count as approved by you)."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts

    url = _store()
    try:
        with session_scope(url) as session:
            ec = broadcasts.create_email_campaign(session, _merchant(merchant), campaign_id=campaign, segment_id=segment, subject=subject,
                                                actor=actor, template_name=template, preview_text=preview_text, send_window_hours=send_window_hours)
            ec_id = ec.id
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"created email campaign {ec_id} (DRAFT) for {campaign}. Next: [bold]campaigns email send --campaign {ec_id}[/]")


@app.command()
def send(
    campaign: CampaignOption,
    merchant: MerchantOption = None,
    provider: Annotated[ProviderChoice | None, typer.Option("--provider", help="Default CAMPAIGNS_EMAIL_PROVIDER (sandbox).")] = None,
    sender: Annotated[str | None, typer.Option("--sender", help='From header, e.g. "Acme <news@acme.example>".')] = None,
    public_url: Annotated[str | None, typer.Option("--public-url", help="https:// base URL serving /unsubscribe (not needed for sandbox).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000, help="Recipients claimed at a time.")] = DEFAULT_BATCH,
    actor: ActorOption = "cli",
) -> None:
    """Snapshot the segment (first time only) and send to everyone not yet sent; re-running never sends twice."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts, config, delivery, recipients

    settings = get_settings()
    url = _store()
    merchant_id = _merchant(merchant)
    chosen = provider.value if provider else settings.email_provider
    try:
        with session_scope(url) as session:
            ec = broadcasts.resolve_email_campaign(session, merchant_id, campaign)
            ec_id, status = ec.id, ec.status
            # a send that could not start must not take the snapshot either
            config.check_config(settings, chosen, sender=sender, public_url=public_url)
            if status in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
                recipients.prepare_send(session, merchant_id, ec_id, actor, provider=chosen)  # its throttle caps each planned hour
        with session_scope(url) as session:
            counts = broadcasts.campaign_counts(session, merchant_id, ec_id)
        todo = counts["pending"] + counts["sending"]
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            task = progress.add_task(f"email campaign {ec_id}", total=todo or None)
            report = delivery.deliver(url, settings, ec_id, _worker_id(), batch_size=batch_size, merchant_id=merchant_id,
                                      provider=chosen, sender=sender, public_url=public_url,
                                      on_progress=lambda n: progress.advance(task, n))
            progress.update(task, completed=todo, description="done" if report.stopped is None else "stopped")
    except expected_errors() as exc:
        fail(str(exc))
    _summary(report)
    if report.stopped:
        fail(report.stopped)
    failed, review = report.stats.get("failed", 0), report.stats.get("needs_review", 0)
    if failed or review:
        # a script sending from cron must notice recipients who did not get the email
        fail(f"{failed} recipients FAILED and {review} NEED REVIEW in email campaign {report.email_campaign_id}; "
             f"see `campaigns email status --campaign {report.email_campaign_id}` and settle reviews with `campaigns email review SEND_ID`", code=EXIT_UNDELIVERED)


def _summary(report: DeliveryReport) -> None:
    from campaigns.email import review as reviews

    table = Table("", "this run", "campaign total", title=f"email campaign {report.email_campaign_id} via {report.provider}: {report.campaign_status}")
    for status in ("sent", "suppressed", "failed", "needs_review", "pending"):
        table.add_row(status, str(report.outcomes.get(status.upper(), 0)), str(report.stats.get(status, 0)))
    console.print(table)
    if report.recovered:
        console.print(f"settled {report.recovered} recipients left by a stopped worker")
    if report.stats.get("needs_review"):
        console.print(f"[yellow]{report.stats['needs_review']} recipients need a person:[/] {reviews.REVIEW_HINT}")


@app.command()
def approve(
    campaign: CampaignOption,
    note: Annotated[str, typer.Option("--note", help="What you checked, for the audit log.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Approve an email campaign's current subject, preview text and body (under the four-eyes rule, not your own)."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts

    try:
        with session_scope(_store()) as session:
            ec = broadcasts.resolve_email_campaign(session, _merchant(merchant), campaign)
            approval = broadcasts.approve_email_campaign(session, ec.merchant_id, ec.id, actor, note)
            ec_id, approval_id = ec.id, approval.id
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"approved email campaign {ec_id} as it is now (approval {approval_id}); schedule it in the app's Email Designer "
                  f"or send it with [bold]campaigns email send --campaign {ec_id}[/]")


@app.command("status")
def status_(campaign: CampaignOption, merchant: MerchantOption = None) -> None:
    """Recipients of an email campaign per status."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts

    url = _store()
    merchant_id = _merchant(merchant)
    try:
        with session_scope(url) as session:
            ec = broadcasts.resolve_email_campaign(session, merchant_id, campaign)
            counts, status = broadcasts.campaign_counts(session, merchant_id, ec.id), ec.status.value
            ec_id = ec.id
    except expected_errors() as exc:
        fail(str(exc))
    table = Table("status", "recipients", title=f"email campaign {ec_id}: {status}")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


@app.command("unsubscribe")
def unsubscribe_(token: Annotated[str, typer.Argument(help="The token from an unsubscribe link (after ?token=).")]) -> None:
    """Unsubscribe the contact a link's token names (what the one-click endpoint does)."""
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError, UnsubscribeTokenError, signer_from_settings, unsubscribe
    from campaigns.core.settings import get_settings

    url = _store()
    try:
        result = unsubscribe(url, token, signer_from_settings(get_settings()), actor="cli", source="cli")
    except (UnsubscribeTokenError, MissingUnsubscribeKeyError, LookupError) as exc:
        fail(str(exc))
    what = "unsubscribed" if result.changed else "was already unsubscribed"
    console.print(f"{result.email} {what} (merchant {result.merchant_id})")


@app.command()
def suppress(
    email: Annotated[str, typer.Argument(help="Address to stop emailing.")],
    reason: Annotated[ReasonChoice, typer.Option("--reason", help="Why.")] = ReasonChoice.MANUAL,
    note: Annotated[str, typer.Option("--note", help="Free text for the audit log.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Put an address on the merchant's suppression list: no email campaign sends to it again."""
    from campaigns.audiences.suppression import add_suppression
    from campaigns.core.store.db import session_scope
    from campaigns.core.store.models import SuppressionReason

    url = _store()
    try:
        with session_scope(url) as session:
            row, created = add_suppression(session, _merchant(merchant), email, SuppressionReason(reason.value), actor=actor, source="cli", note=note)
            address, kept = row.email, row.reason.value
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"{address} suppressed ({kept})" if created else f"{address} was already suppressed ({kept}); nothing changed")


@app.command()
def review(
    send_id: Annotated[int, typer.Argument(help="The email send (recipient row) in NEEDS_REVIEW.")],
    outcome: Annotated[ReviewOutcome, typer.Option("--outcome", help="sent: it went out; failed: close it unsent; resend: send it again.")],
    note: Annotated[str, typer.Option("--note", help="What you checked.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Settle a recipient whose delivery is uncertain, after checking the provider's activity log."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import review as reviews

    url = _store()
    try:
        with session_scope(url) as session:
            row = reviews.resolve_review(session, _merchant(merchant), send_id, outcome=outcome.value, actor=actor, note=note)
            status = row.status.value
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"email send {send_id} is now {status}" + (": run `campaigns email send` to send it" if outcome is ReviewOutcome.resend else ""))


@app.command("serve-unsubscribe")
def serve_unsubscribe(
    host: Annotated[str, typer.Option(help="Interface to listen on; put it behind CAMPAIGNS_PUBLIC_URL with TLS.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8600,
) -> None:
    """Serve the public endpoints: one-click unsubscribe (RFC 8058: POST unsubscribes, GET shows a confirm button), tracking, webhooks.

    The same app as `campaigns api` without the /marketing API, on the same server and limits (uvicorn).

    It also receives provider event webhooks at POST /webhooks/sendgrid and /webhooks/mailgun (opens, clicks,
    bounces, complaints, unsubscribes), each on when CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY / CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY is set.
    """
    from campaigns.api.app import create_app
    from campaigns.api.server import serve
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError, signer_from_settings
    from campaigns.core.settings import get_settings
    from campaigns.email.webhooks import WebhookConfigError

    settings = get_settings()
    try:
        signer_from_settings(settings)  # the one endpoint this command exists for needs the key: refuse to start without it
        app_ = create_app(settings, _store(), api=False)
    except (MissingUnsubscribeKeyError, WebhookConfigError) as exc:
        fail(str(exc))
    on = [name for name, key in (("sendgrid", settings.sendgrid_webhook_public_key), ("mailgun", settings.mailgun_webhook_signing_key)) if key]
    console.print(f"unsubscribe endpoint on http://{host}:{port}/ (links point at {settings.public_url or 'CAMPAIGNS_PUBLIC_URL, unset'})")
    console.print(f"provider webhooks: {', '.join(f'POST /webhooks/{n}' for n in on) if on else 'off (set CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY or CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY)'}")
    console.print("open and click tracking: GET /t/o/<token> and /t/c/<token> (emails carry them when CAMPAIGNS_EMAIL_TRACKING is on)")
    serve(app_, host, port, settings.api_max_concurrency)


# Registered last, so they are listed after the commands above.
ab_commands.register(app)  # ab-create, ab-report, ab-decide
email_template_commands.register(app)  # preview, test-send, templates ...
