"""`campaigns repurpose`, `plan`, `approve`, `repurpose-report` and `workflow ...`: Leo and Ava from the shell.

The main app registers these (see campaigns/cli/main.py):

    app.command("repurpose")(agent_commands.repurpose)
    app.command("repurpose-report")(agent_commands.repurpose_report)
    app.command("plan")(agent_commands.plan)
    app.command("approve")(agent_commands.approve)
    app.add_typer(agent_commands.workflow_app, name="workflow", help="Run and steer campaign workflows.")

Bad input exits with code 2 and names the fix; failing content checks exit with code 1
after the output is written.
"""

from __future__ import annotations

# Start-up cost: Leo and Ava (and the LLM clients, pydantic models, the store and the warehouse with them) are
# imported inside the commands that use them, so `campaigns --help`, `campaigns workflow --help` and each
# command load only what they run.

import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agents.source import SourceError, read_post
from campaigns.cli.context import merchant_or_default as _merchant
from campaigns.cli.output import console, err_console, fail
from campaigns.core import json_input
from campaigns.core.enums import CampaignType

workflow_app = typer.Typer(no_args_is_help=True, help="Run and steer campaign workflows (Ava).")

ALL_FORMATS = "x,linkedin,facebook,instagram,email,ads"
POST_SUFFIXES = (".md", ".markdown", ".mdx", ".html", ".htm", ".txt")

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]


def _store():
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import migrate, session_scope

    settings = get_settings()
    migrate(settings.store_url)
    return session_scope(settings.store_url)


def _merchant_exists(merchant_id: str) -> bool:
    from campaigns.core.store.models import Merchant

    with _store() as session:
        return session.get(Merchant, merchant_id) is not None


def _voice(merchant_id: str, settings):
    """The merchant's brand voice (its stored settings over CAMPAIGNS_BRAND_VOICE)."""
    from agents.leo.voice import BrandVoice
    from campaigns.core.merchants import get_brand_voice

    with _store() as session:
        return BrandVoice.from_settings(settings.brand_voice, get_brand_voice(session, merchant_id))


def _write_json(data: Any, out: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}; choose another --out path")


def _agent_settings():
    from pydantic import ValidationError

    from agents.settings import AgentSettings

    try:
        return AgentSettings()
    except ValidationError as exc:
        fail("invalid agent settings: " + "; ".join(f"CAMPAIGNS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))


def _read(post: Path, settings, url: str | None = None):
    try:
        return read_post(post, max_bytes=settings.max_source_bytes, max_chars=settings.max_source_chars, url=url)
    except SourceError as exc:
        fail(f"{post}: {exc}")


def _history(merchant_id: str):
    from agents.leo.performance import warehouse_history
    from campaigns.core.settings import get_settings

    return warehouse_history(get_settings(), merchant_id)


# --------------------------------------------------------------------------- repurpose


def repurpose(
    post: Annotated[Path, typer.Argument(help="A blog post: Markdown with front matter (title, url, tags), HTML or plain text.")],
    formats: Annotated[str, typer.Option(help=f"Comma-separated formats: {ALL_FORMATS}.")] = ALL_FORMATS,
    variations: Annotated[int, typer.Option(help="Variants per format, each with its own angle (1-12).")] = 3,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")] = None,
    url: Annotated[str | None, typer.Option(help="The post's public URL, when the file does not say it.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign id: also store the drafts as the campaign's contents.")] = None,
    save: Annotated[bool | None, typer.Option("--save/--no-save", help="Store the drafts (default: when the merchant exists).")] = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Repurpose a blog post into posts, threads, captions, emails and ads (drafts to approve)."""
    from agents.leo.repurpose import parse_formats
    from agents.leo.repurpose import repurpose as run_repurpose

    settings = _agent_settings()
    try:
        wanted = parse_formats(formats)
    except ValueError as exc:
        fail(f"--formats: {exc}")
    if not 1 <= variations <= 12:
        fail(f"--variations {variations}: use a number from 1 to 12")
    source = _read(post, settings, url)
    merchant_id = _merchant(merchant)
    exists = _merchant_exists(merchant_id)
    if (save or campaign) and not exists:
        fail(f"merchant {merchant_id!r} does not exist: create it with `campaigns merchants add {merchant_id}`, or pass --no-save")
    do_save = exists if save is None else save
    if campaign and not do_save:
        fail("--campaign stores drafts on the campaign; drop --no-save or drop --campaign")
    result = run_repurpose(source, wanted, variations, campaign_id=campaign, settings=settings, history=_history(merchant_id) if exists else None,
                           voice=_voice(merchant_id, settings) if exists else None)
    data = result.to_dict()
    if do_save:
        from agents.leo.store import save_result
        from agents.usage import persist
        from campaigns.lifecycle.service import CampaignNotFoundError

        try:
            with _store() as session:
                saved = save_result(session, merchant_id, result, actor=actor, campaign_id=campaign)
                persist(session, merchant_id, result.usage, actor=actor, purpose="repurpose", campaign_id=campaign,
                        entity_id=source.source_hash[:16])
        except CampaignNotFoundError as exc:
            fail(str(exc))
        by_key = {(s.format, s.variant): s for s in saved}
        for output in data["outputs"]:
            s = by_key[(output["format"], output["variant"])]
            output["ids"] = {"repurposed": f"rc-{s.repurposed_id}", "content": f"cc-{s.content_id}" if s.content_id else None,
                             "content_hash": s.content_hash}
        data["saved"] = {"merchant": merchant_id, "campaign": campaign, "status": "DRAFT"}
    else:
        data["saved"] = None
    _write_json(data, out)
    if out is not None:
        _print_summary(result, out, do_save)
    if not result.passed:
        err_console.print("[yellow]some checks failed:[/] " + "; ".join(result.failures()[:6]))
        raise typer.Exit(1)


def _print_summary(result, out: Path, saved: bool) -> None:
    table = Table("format", "variants", "engine", "checks", "image", title=f"{result.source.title} → {out}")
    by_format: dict[str, list] = {}
    for o in result.outputs:
        by_format.setdefault(o.format, []).append(o)
    for fmt, outs in by_format.items():
        ok = all(c.ok for key, checks in result.checks.items() if key.startswith(f"{fmt}:") for c in checks)
        images = sorted({o.media.src.rsplit("/", 1)[-1] for o in outs if o.media})  # the post's image each social draft carries
        table.add_row(fmt, str(len(outs)), ", ".join(sorted({o.engine for o in outs})), "[green]pass[/]" if ok else "[red]fail[/]",
                      escape(", ".join(images)))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    if saved:
        console.print("saved as DRAFT; approve with [bold]campaigns approve rc-ID[/] (or cc-ID for a campaign's content)")


# --------------------------------------------------------------------------- repurpose-report


def repurpose_report(
    folder: Annotated[Path, typer.Argument(help="A folder of posts (.md, .html, .txt).")],
    formats: Annotated[str, typer.Option(help=f"Comma-separated formats: {ALL_FORMATS}.")] = ALL_FORMATS,
    variations: Annotated[int, typer.Option(help="Variants per format (1-12).")] = 3,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the full report as JSON here.")] = None,
) -> None:
    """Repurpose every post in a folder and report each quality check per post."""
    from agents.leo.checks import CHECK_NAMES
    from agents.leo.repurpose import parse_formats
    from agents.leo.repurpose import repurpose as run_repurpose

    settings = _agent_settings()
    try:
        wanted = parse_formats(formats)
    except ValueError as exc:
        fail(f"--formats: {exc}")
    if not folder.is_dir():
        fail(f"{folder} is not a folder; give a folder of .md, .html or .txt posts")
    posts = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in POST_SUFFIXES)
    if not posts:
        fail(f"{folder} holds no posts ({', '.join(POST_SUFFIXES)})")
    table = Table("post", "engine", *CHECK_NAMES, "result", title=f"repurpose report: {len(posts)} posts × {len(wanted)} formats × {variations} variants")
    report: list[dict[str, Any]] = []
    all_ok = True
    for path in posts:
        try:
            source = read_post(path, max_bytes=settings.max_source_bytes, max_chars=settings.max_source_chars)
        except SourceError as exc:
            # an unreadable post is reported as refused (the right answer for empty or binary files), not as a crash
            table.add_row(path.name, "-", *["-"] * len(CHECK_NAMES), f"[yellow]refused[/]: {exc}")
            report.append({"post": path.name, "refused": str(exc)})
            continue
        result = run_repurpose(source, wanted, variations, settings=settings)
        cells = []
        per_check: dict[str, dict[str, Any]] = {}
        for name in CHECK_NAMES:
            failures = [f"{key}: {c.detail}" for key, checks in result.checks.items() for c in checks if c.name == name and not c.ok]
            ran = any(c.name == name for checks in result.checks.values() for c in checks)
            per_check[name] = {"ok": not failures, "failures": failures, "ran": ran}
            cells.append("[green]✓[/]" if not failures else f"[red]✗ {len(failures)}[/]")
        all_ok &= result.passed
        table.add_row(path.name, result.engine, *cells, "[green]pass[/]" if result.passed else "[red]fail[/]")
        report.append({"post": path.name, "title": source.title, "language": source.language, "engine": result.engine,
                       "outputs": len(result.outputs), "notes": result.notes, "checks": per_check, "passed": result.passed})
    console.print(table)
    for entry in report:
        for name, check in entry.get("checks", {}).items():
            for failure in check["failures"][:3]:
                console.print(f"[red]{entry['post']}[/] {name}: {failure}")
    if out is not None:
        _write_json({"folder": str(folder), "formats": wanted, "variations": variations, "posts": report, "passed": all_ok}, out)
    if not all_ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- plan


def _decimal(value: str, flag: str):
    try:
        amount = Decimal(value.replace(",", "").replace("_", ""))
    except InvalidOperation:
        fail(f"{flag} {value!r} is not a number; use e.g. 10000 or 2500.50")
    if not amount.is_finite() or amount < 0:
        fail(f"{flag} must be zero or more")
    if amount != amount.quantize(Decimal("0.01")):
        fail(f"{flag} {value!r} has more than two decimals; round it to cents")
    return amount


def _date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")


def plan(
    goal: Annotated[str, typer.Option(help="AWARENESS, ENGAGEMENT or CONVERSION.")],
    budget: Annotated[str, typer.Option(help="Total budget, e.g. 10000.")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")],
    blog: Annotated[Path | None, typer.Option(help="A blog post to build the campaign's content from.")] = None,
    kpi: Annotated[str | None, typer.Option(help="impressions, clicks, engagements, conversions, revenue or roas (default by goal).")] = None,
    target: Annotated[float | None, typer.Option(help="The KPI value that counts as success.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone of the posting schedule (default: the merchant's, else UTC).")] = None,
    segments: Annotated[str, typer.Option(help="Comma-separated audience segments.")] = "",
    channels: Annotated[str | None, typer.Option(help="Comma-separated channels to use (default: the goal's prior).")] = None,
    history: Annotated[Path | None, typer.Option(help="JSON with curves, channel_stats and best_hours from your history.")] = None,
    name: Annotated[str | None, typer.Option(help="Campaign name (default: the post's title).")] = None,
    variations: Annotated[int, typer.Option(help="Content variants per format (1-6).")] = 2,
    currency: Annotated[str, typer.Option(help="Currency of the budget.")] = "USD",
    out: Annotated[Path | None, typer.Option("--out", help="Write the plan JSON here (default: stdout).")] = None,
    save: Annotated[bool, typer.Option("--save", help="Create the DRAFT campaign and its workflow in the store.")] = False,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Plan a campaign: channels, budget split to the cent, content, schedule, contingencies, prediction."""
    from pydantic import ValidationError

    from agents.ava.models import Goal, PlanHistory, PlanRequest
    from agents.ava.planner import plan_campaign

    settings = _agent_settings()
    if goal.upper() not in CampaignType.__members__:
        fail(f"--goal {goal!r}: use AWARENESS, ENGAGEMENT or CONVERSION")
    merchant_id = _merchant(merchant)
    zone = timezone
    if zone is None:
        from campaigns.core.store.models import Merchant

        with _store() as session:
            row = session.get(Merchant, merchant_id)
            zone = row.timezone if row is not None else "UTC"
    history_data: dict[str, Any] = {}
    if history is not None:
        try:
            history_data = json_input.loads(history.read_text(encoding="utf-8"), what=f"--history {history}")
        except (IsADirectoryError, UnicodeDecodeError) as exc:
            fail(f"--history {history}: cannot be read ({exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}); save it as UTF-8 JSON")
        except OSError as exc:
            fail(f"--history {history}: {exc.strerror}")
        except json_input.JsonInputError as exc:
            fail(f"{exc}; see `campaigns plan --help`")
    plan_history: PlanHistory | None = None
    if history is None and _merchant_exists(merchant_id):
        # no file given: the curves the pipeline fitted for this merchant, when there are any
        from agents.ava.history import warehouse_plan_history
        from campaigns.core.settings import get_settings

        plan_history, why_not = warehouse_plan_history(get_settings(), merchant_id)
        if why_not:
            err_console.print(f"budget split: {why_not}; documented prior shares are used")
    try:
        request = PlanRequest(
            goal=Goal(type=CampaignType(goal.upper()), kpi=kpi, target=target), budget=_decimal(budget, "--budget"), currency=currency.upper(),
            start=_date(start, "--start"), end=_date(end, "--end"), timezone=zone, segments=[s.strip() for s in segments.split(",") if s.strip()],
            channels=[c for c in channels.split(",")] if channels else None, history=plan_history if plan_history is not None else PlanHistory.model_validate(history_data),
            name=name, variations=variations,
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()))
    source = _read(blog, settings) if blog is not None else None
    result = plan_campaign(request, source=source, settings=settings, content_history=_history(merchant_id) if _merchant_exists(merchant_id) else None)
    data = result.to_json_dict()
    if save:
        from agents.ava.execution import create_campaign_from_plan
        from campaigns.core.merchants import UnknownMerchantError

        try:
            with _store() as session:
                campaign, steps = create_campaign_from_plan(session, merchant_id, result, actor=actor,
                                                            source_markdown=blog.read_text(encoding="utf-8") if blog and result.content is None else None)
                data["campaign_id"] = campaign.id
                data["workflow_steps"] = [f"{s.step_order}:{s.step_type}:{s.status.value}" for s in steps]
        except (UnknownMerchantError, ValueError) as exc:
            fail(str(exc))
    _write_json(data, out)
    if out is not None:
        console.print(result.summary)
        if save:
            console.print(f"created {data['campaign_id']} (DRAFT) with its workflow; next: approve its drafts, then "
                          f"[bold]campaigns workflow run[/] (a sensor does this on a schedule)")


# --------------------------------------------------------------------------- approve


def approve(
    content_id: Annotated[str, typer.Argument(help="cc-ID (a campaign's content, or a bare number) or rc-ID (a repurposed draft).")],
    note: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Approve content exactly as it is now; any later edit needs a new approval."""
    from agents.leo.store import RepurposedNotFoundError, approve_campaign_content, approve_repurposed
    from campaigns.content.approvals import ContentNotFoundError
    from campaigns.core.merchants import UnknownMerchantError

    raw = content_id.strip().lower()
    kind, _, number = raw.partition("-") if "-" in raw else ("cc", "", raw)
    if kind not in ("cc", "rc") or not number.isdigit():
        fail(f"{content_id!r} is not a content id; use cc-12 (campaign content) or rc-7 (repurposed draft)")
    merchant_id = _merchant(merchant)
    try:
        with _store() as session:
            if kind == "rc":
                done = approve_repurposed(session, merchant_id, int(number), actor, note)
            else:
                done = approve_campaign_content(session, merchant_id, int(number), actor, note)
    except (ContentNotFoundError, RepurposedNotFoundError, UnknownMerchantError) as exc:
        fail(f"{exc}; list drafts with `campaigns workflow status CAMPAIGN_ID` or the repurpose output's ids")
    console.print(f"approved {content_id} (hash {done['content_hash'][:12]}…, approval {done['approval_id']})")


# --------------------------------------------------------------------------- workflow


def _workflow_call(fn, *args, **kwargs):
    from campaigns.workflows.engine import WorkflowError
    from campaigns.lifecycle.service import CampaignNotFoundError

    try:
        with _store() as session:
            return fn(session, *args, **kwargs)
    except (WorkflowError, CampaignNotFoundError) as exc:
        fail(str(exc))


@workflow_app.command("status")
def workflow_status(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    merchant: MerchantOption = None,
) -> None:
    """Steps of a campaign's workflow, their status, and escalations waiting for a person."""
    from agents.ava.execution import status
    from campaigns.workflows.engine import step_summary

    data = _workflow_call(status, _merchant(merchant), campaign_id)
    if as_json:
        _write_json(data, None)
        return
    table = Table("step", "type", "status", "attempts", "due (UTC)", "detail", title=f"workflow of {campaign_id}: {data['state']}")
    colours = {"DONE": "green", "SKIPPED": "dim", "FAILED": "red", "WAITING": "yellow", "CANCELLED": "dim"}
    for step in data["steps"]:
        detail = step["error"] or step_summary(step)
        colour = colours.get(step["status"], "white")
        table.add_row(str(step["order"]), step["type"], f"[{colour}]{step['status']}[/]", str(step["attempts"]), (step["due_at"] or "")[:16], detail[:90])
    console.print(table)
    console.print(usage_line(data.get("usage") or {}))
    for e in data["escalations"][:5]:
        console.print(f"[red]needs a person[/] (step {e.get('step')}): {e.get('reason')}")


def usage_line(usage: dict[str, Any]) -> str:
    """One line of LLM cost for a campaign (what `campaign_usage` returns)."""
    if not usage.get("calls"):
        return "LLM cost: none (no model calls: offline engine)"
    tokens = (f"{usage['input_tokens']:,} in, {usage['output_tokens']:,} out, {usage['cache_creation_input_tokens']:,} cache write, "
              f"{usage['cache_read_input_tokens']:,} cache read")
    unpriced = f"; {usage['unpriced_calls']} call(s) of unpriced models not counted" if usage.get("unpriced_calls") else ""
    return f"LLM cost: ${usage['cost_usd']:,.4f} for {usage['calls']} call(s) in {usage['runs']} run(s) ({tokens} tokens){unpriced}"


@workflow_app.command("run")
def workflow_run(
    now: Annotated[str | None, typer.Option(help="Pretend it is this time (ISO-8601 with zone); default now.")] = None,
    merchant: Annotated[str | None, typer.Option("--merchant", help="Only this merchant's workflows.")] = None,
) -> None:
    """Run every due step once (what the Dagster sensor calls)."""
    from agents.ava.execution import run_due_steps
    from campaigns.core.settings import get_settings

    when = datetime.now(UTC)
    if now:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            fail(f"--now {now!r} is not ISO-8601; use e.g. 2026-12-01T09:00:00+00:00")
        if when.tzinfo is None:
            fail(f"--now {now!r} has no time zone; add one, e.g. {now}+00:00")
    settings = get_settings()
    from campaigns.core.store.db import migrate

    migrate(settings.store_url)
    report = run_due_steps(settings.store_url, when, merchant_id=merchant, settings=_agent_settings())
    for run in report.runs:
        console.print(f"{run.campaign_id} step {run.step_order} ({run.step_type}): {run.outcome}" + (f" — {run.detail}" if run.detail else ""))
    console.print(f"{len(report.runs)} step run(s): {report.counts() or 'nothing due'}")


def _state_command(action: str):
    def command(
        campaign_id: Annotated[str, typer.Argument(help="Campaign id (cmp_...).")],
        reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
        merchant: MerchantOption = None,
        actor: ActorOption = "cli",
    ) -> None:
        from campaigns.workflows import engine as workflow

        state = _workflow_call(getattr(workflow, action), _merchant(merchant), campaign_id, actor, reason)
        console.print(f"workflow of {campaign_id} is {state}")

    command.__doc__ = {"pause": "Pause a workflow: no step runs until it is resumed.", "resume": "Resume a paused workflow.",
                       "cancel": "Cancel a workflow: its open steps are cancelled for good."}[action]
    return command


for _action in ("pause", "resume", "cancel"):
    workflow_app.command(_action)(_state_command(_action))


@workflow_app.command("skip")
def workflow_skip(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    step: Annotated[int, typer.Argument(help="Step number (see `workflow status`).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Skip a pending, waiting or failed step; the steps after it may run."""
    from campaigns.workflows.engine import skip_step

    row = _workflow_call(skip_step, _merchant(merchant), campaign_id, step, actor, reason)
    console.print(f"step {row.step_order} ({row.step_type}) skipped")


@workflow_app.command("retry")
def workflow_retry(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    step: Annotated[int, typer.Argument(help="Step number.")],
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Run a failed step again (after fixing what it reported)."""
    from campaigns.workflows.engine import retry_step

    row = _workflow_call(retry_step, _merchant(merchant), campaign_id, step, actor)
    console.print(f"step {row.step_order} ({row.step_type}) will run again on the next `campaigns workflow run`")


@workflow_app.command("edit")
def workflow_edit(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    step: Annotated[int, typer.Argument(help="Step number.")],
    set_: Annotated[list[str], typer.Option("--set", help="KEY=VALUE (VALUE as JSON when it parses), e.g. due_at=2026-12-02T09:00:00+00:00.")],
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Change a step's settings (due time, attempts, slots, ...) before it runs."""
    from agents.ava.execution import edit_step

    changes: dict[str, Any] = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: use KEY=VALUE")
        try:
            changes[key.strip()] = json_input.loads(value, what=f"--set {key.strip()}")
        except json_input.JsonInputError:
            if json_input.nesting_depth(value) > json_input.MAX_DEPTH:
                raise
            changes[key.strip()] = value
    row = _workflow_call(edit_step, _merchant(merchant), campaign_id, step, changes, actor)
    console.print(f"step {row.step_order} ({row.step_type}) updated: {', '.join(sorted(changes))}")
