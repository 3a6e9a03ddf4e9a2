"""`campaigns email preview|test-send` and `campaigns email templates list|add|check|install-starters`.

`preview` writes FILE.html and, next to it, FILE.txt (the text part), so both parts can be read
as the contact gets them. Problems with a template exit with code 2 and list every problem with
its line number and fix.
"""

from __future__ import annotations

# Start-up cost: the template engine (Jinja), the templates service, settings and the store are imported
# inside the commands that use them, so `campaigns email --help` and the other email commands do not load them.

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from campaigns.cli.context import merchant_or_default as _merchant, migrated_store as _store
from campaigns.cli.output import console, err_console, fail
from campaigns.email import errors

if TYPE_CHECKING:
    from campaigns.email.template_engine import Problem

templates_app = typer.Typer(no_args_is_help=True, help="Email templates: list, add (checked), check a file, install the starter gallery.")

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a command reports as a message with exit code 2 (bad input or a state the action does not allow)."""
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError
    from campaigns.content.approvals import NotApprovedError
    from campaigns.core.merchants import UnknownMerchantError

    return (LookupError, ValueError, NotApprovedError, UnknownMerchantError, MissingUnsubscribeKeyError)


def _fail_problems(what: str, problems: list[Problem]) -> None:
    fail(f"{what} has {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"--file: {file} does not exist; give the path of an .html file")
    except (UnicodeDecodeError, IsADirectoryError):
        fail(f"--file: {file} is not a UTF-8 text file; save the template as UTF-8 HTML")


def preview(
    email_campaign: Annotated[str, typer.Argument(help="Email campaign id, or a campaign id (cmp_...) with exactly one email campaign.")],
    contact: Annotated[int, typer.Option("--contact", help="Contact id whose values fill the merge tags.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML; the text part goes next to it as .txt.")],
    merchant: MerchantOption = None,
) -> None:
    """Render an email campaign exactly as one contact would get it (HTML and text)."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts
    from campaigns.email import templates as service

    if out.suffix.lower() not in (".html", ".htm"):
        fail(f"--out: {out} should end in .html (the text part is written next to it as {out.with_suffix('.txt').name})")
    url, merchant_id = _store(), _merchant(merchant)
    try:
        with session_scope(url) as session:
            ec = broadcasts.resolve_email_campaign(session, merchant_id, email_campaign)
            shown = service.preview(session, merchant_id, contact_id=contact, email_campaign_id=ec.id, settings=get_settings())
    except errors.EmailTemplateError as exc:
        fail(str(exc))
    except expected_errors() as exc:
        fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(shown.html, encoding="utf-8")
    out.with_suffix(".txt").write_text(f"Subject: {shown.subject}\nTo: {shown.to}\n\n{shown.text}\n", encoding="utf-8")
    link = "signed (clicking it unsubscribes the contact)" if shown.signed else "a preview address (set CAMPAIGNS_TOKEN_KEY for a real one)"
    console.print(f"subject: {shown.subject}\nwrote {out} and {out.with_suffix('.txt')}; unsubscribe link: {link}")


def test_send(
    email_campaign: Annotated[str, typer.Argument(help="Email campaign id, or a campaign id (cmp_...) with exactly one email campaign.")],
    to: Annotated[str, typer.Option("--to", help="The one address the test goes to.")],
    contact: Annotated[int | None, typer.Option("--contact", help="Contact id whose values fill the merge tags (default: a sample contact).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="sandbox, smtp, sendgrid or mailgun (default CAMPAIGNS_EMAIL_PROVIDER).")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Send one test copy to an address; it is not the campaign's send and records no recipient row."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import broadcasts
    from campaigns.email import templates as service

    url, merchant_id = _store(), _merchant(merchant)
    try:
        with session_scope(url) as session:
            ec = broadcasts.resolve_email_campaign(session, merchant_id, email_campaign)
            sent = service.send_test(session, get_settings(), merchant_id, to=to, actor=actor, email_campaign_id=ec.id, contact_id=contact,
                                     provider=provider)
    except errors.EmailTemplateError as exc:
        fail(str(exc))
    except expected_errors() as exc:
        fail(str(exc))
    where = " (sandbox outbox: nothing left this machine)" if sent.provider == "sandbox" else ""
    console.print(f"test sent to {sent.to} via {sent.provider}{where}: {sent.subject} [{sent.message_id}]")


@templates_app.command("list")
def list_(merchant: MerchantOption = None) -> None:
    """The merchant's email templates."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import templates as service

    url, merchant_id = _store(), _merchant(merchant)
    try:
        with session_scope(url) as session:
            rows = [(str(t.id), t.name, t.category, t.layout, t.starter or "", t.subject) for t in service.list_templates(session, merchant_id)]
    except expected_errors() as exc:
        fail(str(exc))
    if not rows:
        console.print("no email templates yet: run `campaigns email templates install-starters` or `campaigns email templates add NAME --file F.html`")
        return
    table = Table("id", "name", "category", "layout", "starter", "subject", title=f"email templates of {merchant_id}")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@templates_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Template name (an existing one is updated).")],
    file: Annotated[Path, typer.Option("--file", help="The template's HTML (Jinja2 merge tags allowed).")],
    category: Annotated[str, typer.Option("--category", help="marketing (needs an unsubscribe link) or transactional.")] = "marketing",
    subject: Annotated[str, typer.Option("--subject", help="Default subject line.")] = "",
    layout: Annotated[str, typer.Option("--layout", help="base: wrapped in the responsive layout; none: the file is the whole email.")] = "base",
    description: Annotated[str, typer.Option("--description", help="What the template is for.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Add or update a template after checking it (problems exit 2 with line numbers)."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import templates as service
    from campaigns.email.template_engine import TemplateProblemsError, sanitize_html

    html = _read(file)
    url, merchant_id = _store(), _merchant(merchant)
    for warning in sanitize_html(html)[1]:  # the service stores the template without them
        err_console.print(f"[yellow]warning:[/] {file}: {warning}")
    try:
        with session_scope(url) as session:
            saved = service.save_template(session, merchant_id, name, html, actor=actor, subject=subject, category=category, layout=layout,
                                          description=description)
            saved_id = saved.id
    except TemplateProblemsError as exc:
        _fail_problems(str(file), exc.problems)
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"saved email template {name!r} (id {saved_id}, {category}, layout {layout})")


@templates_app.command("check")
def check(
    file: Annotated[Path, typer.Option("--file", help="The template's HTML.")],
    category: Annotated[str, typer.Option("--category", help="marketing or transactional.")] = "marketing",
    subject: Annotated[str, typer.Option("--subject", help="Subject line to check too.")] = "",
    layout: Annotated[str, typer.Option("--layout", help="base or none.")] = "base",
) -> None:
    """Check a template file without saving it: exit 0 when clean, 2 with every problem's line and fix."""
    from campaigns.email.template_engine import check_template, sanitize_html

    html = _read(file)
    problems = check_template(html, category=category, subject=subject, layout=layout)
    for warning in sanitize_html(html)[1]:
        err_console.print(f"[yellow]warning:[/] {file}: {warning} (they are stripped when the template is saved or sent)")
    if problems:
        _fail_problems(str(file), problems)
    console.print(f"{file}: no problems")


@templates_app.command("install-starters")
def install_starters(merchant: MerchantOption = None, actor: ActorOption = "cli") -> None:
    """Add the five starter templates (newsletter, product launch, promotion, re-engagement, event); safe to re-run."""
    from campaigns.core.store.db import session_scope
    from campaigns.email import templates as service

    url, merchant_id = _store(), _merchant(merchant)
    try:
        with session_scope(url) as session:
            added = [t.name for t in service.install_starters(session, merchant_id, actor=actor)]
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"installed {len(added)} starter template(s): {', '.join(added)}" if added else "all starter templates are already installed")


def register(app: typer.Typer) -> None:
    """Add these commands to `campaigns email`."""
    app.command("preview")(preview)
    app.command("test-send")(test_send)
    app.add_typer(templates_app, name="templates")
