"""`campaigns email ab-create | ab-report | ab-decide`: email A/B tests with a stated decision rule.

Registered on the `campaigns email` app by `register(app)` (see the end of email_commands.py).
"""

from __future__ import annotations

# Start-up cost: the A/B tests (scipy through their statistics), delivery, settings, the store and Rich's
# progress bars are imported inside the commands that use them, so `campaigns email --help` and the other
# email commands do not load them.

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from campaigns.cli.context import migrated_store as _store, worker_id as _worker_id
from campaigns.cli.output import console, fail

if TYPE_CHECKING:
    from campaigns.email.ab_tests import AbReport
    from optimizers.abtest import Decision


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a command reports as a message with exit code 2 (bad input or a state the action does not allow)."""
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError
    from campaigns.content.approvals import NotApprovedError
    from campaigns.core.merchants import UnknownMerchantError

    return (LookupError, ValueError, NotApprovedError, UnknownMerchantError, MissingUnsubscribeKeyError)


MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id (default CAMPAIGNS_DEFAULT_MERCHANT).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who does this, for the audit log.")]
ProviderOption = Annotated[str | None, typer.Option("--provider", help="sandbox, smtp, sendgrid or mailgun (default CAMPAIGNS_EMAIL_PROVIDER).")]


class Variable(StrEnum):
    subject = "subject"
    content = "content"
    send_time = "send_time"


class MetricChoice(StrEnum):
    open = "open"
    click = "click"
    conversion = "conversion"
    revenue = "revenue"


class RuleChoice(StrEnum):
    bayesian = "bayesian"
    sequential = "sequential"


class FallbackChoice(StrEnum):
    best_mean = "best_mean"
    control = "control"


def _variants(variable: Variable, values: list[str], labels: list[str]) -> list[dict]:
    if labels and len(labels) != len(values):
        fail(f"--label: give one label per --variant ({len(values)}), or none")
    out = []
    for i, value in enumerate(values):
        v: dict = {"label": labels[i]} if labels else {}
        if variable is Variable.subject:
            v["subject"] = value
        elif variable is Variable.content:
            v["template"] = value
        else:
            if not value.strip().isdigit() or not 0 <= int(value) <= 23:
                fail(f"--variant {value!r}: a send_time variant is a local hour 0..23, e.g. --variant 9 --variant 18")
            v["send_hour"] = int(value)
        out.append(v)
    return out


def ab_create(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign (cmp_...) the test belongs to.")],
    segment: Annotated[int, typer.Option("--segment", help="Segment id: the audience split into cells and the rest.")],
    variable: Annotated[Variable, typer.Option("--variable", help="What the variants differ by.")],
    variant: Annotated[list[str], typer.Option("--variant", help="One per variant, the first is the control: a subject line, a template name, or a local hour 0..23.")],
    cell_size: Annotated[int, typer.Option("--cell-size", min=1, help="Recipients per variant; the rest of the audience gets the winner.")],
    metric: Annotated[MetricChoice, typer.Option("--metric", help="What decides the winner.")] = MetricChoice.open,
    rule: Annotated[RuleChoice, typer.Option("--rule", help="bayesian: P(beats control) >= threshold; sequential: mixture SPRT at --alpha.")] = RuleChoice.bayesian,
    threshold: Annotated[float, typer.Option("--threshold", help="Bayesian rule: the probability a winner must reach.")] = 0.95,
    alpha: Annotated[float, typer.Option("--alpha", help="Sequential rule: the false-winner rate over all variants.")] = 0.05,
    min_hours: Annotated[int, typer.Option("--min-hours", help="Hours after the cells are due before deciding.")] = 4,
    max_hours: Annotated[int, typer.Option("--max-hours", help="Hours after which the fallback is sent if nothing is conclusive.")] = 72,
    fallback: Annotated[FallbackChoice, typer.Option("--fallback", help="Sent after --max-hours without a result.")] = FallbackChoice.best_mean,
    subject: Annotated[str, typer.Option("--subject", help="The subject line shared by content and send_time variants.")] = "",
    template: Annotated[str | None, typer.Option("--template", help="The template shared by subject and send_time variants.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="A name per variant (default A, B, C ...).")] = None,
    name: Annotated[str, typer.Option("--name", help="The test's name.")] = "",
    window: Annotated[int | None, typer.Option("--send-window-hours", help="Send the winner to each contact at their best hour within this many hours.")] = None,
    start: Annotated[bool, typer.Option("--start/--no-start", help="Prepare and send the cells now (default) or leave the test as DRAFT.")] = True,
    provider: ProviderOption = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Create an A/B test: 2 to 8 variants, a cell per variant, and a stated decision rule; the winner goes to the rest."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import ab_tests, config

    url = _store()
    settings = get_settings()
    merchant_id = merchant or settings.default_merchant
    chosen = provider or settings.email_provider
    spec = {"name": name or f"{variable.value} test", "campaign_id": campaign, "segment_id": segment, "variable": variable.value,
            "variants": _variants(variable, variant, label or []), "cell_size": cell_size, "metric": metric.value, "rule": rule.value,
            "threshold": threshold, "alpha": alpha, "min_hours": min_hours, "max_hours": max_hours, "fallback": fallback.value,
            "subject": subject, "template": template, "send_window_hours": window}
    try:
        if start:
            config.check_config(settings, chosen)
        with session_scope(url) as session:
            test = ab_tests.create_ab_test(session, merchant_id, spec, actor)
            if start:
                ab_tests.start_ab_test(session, merchant_id, test.id, actor, provider=chosen)
            test_id = test.id
        console.print(f"created A/B test {test_id} ({len(variant)} cells of {cell_size})")
        if start:
            _deliver_cells(url, merchant_id, test_id, chosen)
    except expected_errors() as exc:
        fail(str(exc))
    console.print(f"Next: [bold]campaigns email ab-report {test_id}[/], then [bold]campaigns email ab-decide {test_id} --send[/] "
                  f"(the Dagster sensor does both on its own)")


def _deliver_cells(url: str, merchant_id: str, test_id: int, provider: str) -> None:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import ab_tests, broadcasts

    with session_scope(url) as session:
        todo = sum(broadcasts.campaign_counts(session, merchant_id, ec)["pending"] for ec in
                   ab_tests.report(session, merchant_id, test_id).email_campaigns.values())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task(f"A/B test {test_id} cells", total=todo or None)
        reports = ab_tests.deliver_cells(url, get_settings(), merchant_id, test_id, _worker_id(), provider=provider,
                                         on_progress=lambda n: progress.advance(task, n))
    sent = sum(r.outcomes.get("SENT", 0) for r in reports)
    waiting = sum(r.stats.get("pending", 0) for r in reports)
    console.print(f"cells: {sent} sent now" + (f", {waiting} wait for their hour (the Dagster sensor sends them)" if waiting else ""))
    for r in reports:
        if r.stopped:
            fail(r.stopped)


def report_table(rep: AbReport) -> Table:
    rate = "mean revenue / recipient" if rep.metric == "revenue" else f"{rep.metric} rate"
    table = Table("variant", "email campaign", "delivered", "did it" if rep.metric != "revenue" else "buyers", rate, "95% interval",
                  "P(beats control)", "P(best)", "expected loss", title=f"A/B test {rep.test_id} {rep.name!r}: {rep.status}")
    fmt = (lambda x: f"{x:,.2f}") if rep.metric == "revenue" else (lambda x: f"{x:.1%}")
    for v in rep.decision.variants:
        marker = " *" if rep.decision.winner_position == v.position and rep.decision.outcome != "wait" else ""
        table.add_row(f"{v.label}{marker}", str(rep.email_campaigns.get(v.position, "")), str(v.n), str(v.successes), fmt(v.estimate),
                      f"{fmt(v.low)} .. {fmt(v.high)}", "control" if v.p_beat_control is None else f"{v.p_beat_control:.3f}",
                      f"{v.p_best:.3f}", fmt(v.expected_loss))
    return table


def _decision_words(decision: Decision, decided: bool) -> str:
    head = {"winner": "winner", "control": "the control wins", "fallback": "fallback", "wait": "no decision yet"}[decision.outcome]
    return f"{'Decision' if decided else 'Now'}: {head}: {decision.reason}"


def ab_report(
    test_id: Annotated[int, typer.Argument(help="The A/B test id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also write the report as JSON to this file.")] = None,
    merchant: MerchantOption = None,
) -> None:
    """Variants with sends, the metric, 95% intervals, P(beats control), P(best), and the decision with its rule in words."""
    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import ab_tests

    url = _store()
    merchant_id = merchant or get_settings().default_merchant
    if out is not None and out.suffix.lower() != ".json":
        fail(f"--out {out}: name a .json file")
    try:
        with session_scope(url) as session:
            rep = ab_tests.report(session, merchant_id, test_id)
    except expected_errors() as exc:
        fail(str(exc))
    console.print(report_table(rep))
    console.print(f"Rule: {rep.rule}", highlight=False)
    console.print(_decision_words(rep.decision, rep.decided), highlight=False)
    console.print(f"Remainder: {rep.remainder_size} contacts" + (f", email campaign {rep.remainder_email_campaign_id}" if rep.remainder_email_campaign_id else ""))
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(rep.to_json(), indent=2))
        except OSError as exc:
            fail(f"--out {out}: cannot write it ({exc.strerror}); choose a writable path")
        console.print(f"wrote {out}")


def ab_decide(
    test_id: Annotated[int, typer.Argument(help="The A/B test id.")],
    send: Annotated[bool, typer.Option("--send", help="When decided, send the winner to the rest of the audience now.")] = False,
    provider: ProviderOption = None,
    merchant: MerchantOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Apply the test's rule now (stored and audited when it concludes); with --send, the winner goes to the rest, once."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from campaigns.core.settings import get_settings
    from campaigns.core.store.db import session_scope
    from campaigns.email import ab_tests, config

    url = _store()
    settings = get_settings()
    merchant_id = merchant or settings.default_merchant
    chosen = provider or settings.email_provider
    try:
        with session_scope(url) as session:
            decision = ab_tests.decide(session, merchant_id, test_id, actor)
        console.print(_decision_words(decision, decision.outcome != "wait"), highlight=False)
        if decision.outcome == "wait" or not send:
            return
        config.check_config(settings, chosen)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} sent"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task(f"A/B test {test_id}: the winner to the rest", total=None)
            result = ab_tests.send_winner(url, settings, merchant_id, test_id, _worker_id(), provider=chosen,
                                          on_progress=lambda n: progress.advance(task, n))
    except expected_errors() as exc:
        fail(str(exc))
    r = result.report
    console.print(f"remainder email campaign {result.email_campaign_id}: {r.outcomes.get('SENT', 0)} sent now, "
                  f"{r.stats.get('sent', 0)} in all, {r.stats.get('pending', 0)} waiting; test {result.status}")
    if r.stopped:
        fail(r.stopped)


def register(app: typer.Typer) -> None:
    app.command("ab-create")(ab_create)
    app.command("ab-report")(ab_report)
    app.command("ab-decide")(ab_decide)
