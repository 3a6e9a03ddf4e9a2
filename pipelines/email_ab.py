"""Email A/B tests: every five minutes a sensor looks for running tests; the job sends due cell copies, decides, sends winners.

Each step is the service's own idempotent step (`campaigns.email.ab_tests`), so a run that
dies half-way is simply run again: a decision is stored once, the remainder campaign is created
once, and each address gets one copy.
"""

import os
from datetime import UTC, datetime

import dagster as dg

from pipelines.resources import CampaignsResource


def run_ab_tests(campaigns: CampaignsResource, worker_id: str, now: datetime, log=None) -> dict[str, int]:
    """Move every TESTING or DECIDED test on once; returns counts (delivered, decided, winners_sent, waiting, failed)."""
    from campaigns.email import ab_tests
    from campaigns.core.store.db import migrate, session_scope

    settings = campaigns.settings()
    url = settings.store_url
    migrate(url)
    counts = {"delivered": 0, "decided": 0, "winners_sent": 0, "waiting": 0, "failed": 0}
    with session_scope(url) as session:
        todo = ab_tests.tests_to_run(session)
    for merchant_id, test_id, status in todo:
        try:
            if status == ab_tests.TESTING:
                reports = ab_tests.deliver_cells(url, settings, merchant_id, test_id, worker_id, now)
                counts["delivered"] += sum(r.outcomes.get("SENT", 0) for r in reports)
                with session_scope(url) as session:
                    decision = ab_tests.decide(session, merchant_id, test_id, worker_id, now)
                if decision.outcome == "wait":
                    counts["waiting"] += 1
                    continue
                counts["decided"] += 1
            result = ab_tests.send_winner(url, settings, merchant_id, test_id, worker_id, now)
            counts["winners_sent"] += int(result.status == ab_tests.WINNER_SENT)
        except Exception as exc:  # one broken test (a missing key, a refused provider) must not hold up the others
            counts["failed"] += 1
            if log is not None:
                log.error(f"A/B test {test_id} of {merchant_id}: {type(exc).__name__}: {exc}")
    return counts


@dg.op(description="Send due A/B cell copies, decide tests past their minimum wait, send each winner to the rest of its audience once.")
def run_email_ab_tests(context: dg.OpExecutionContext, campaigns: CampaignsResource) -> dg.Output:
    counts = run_ab_tests(campaigns, f"dagster-{context.run_id[:8]}-{os.getpid()}", datetime.now(UTC), context.log)
    context.log.info(f"A/B tests: {counts}")
    if counts["failed"]:
        raise dg.Failure(f"{counts['failed']} A/B tests could not move on; see the errors above", metadata=counts)
    return dg.Output(None, metadata=counts)


@dg.job(description="Move every running email A/B test on once.", executor_def=dg.in_process_executor)
def email_ab_job():
    run_email_ab_tests()


def open_tests(campaigns: CampaignsResource) -> int:
    from campaigns.email import ab_tests
    from campaigns.core.store.db import migrate, session_scope

    settings = campaigns.settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as session:
        return len(ab_tests.tests_to_run(session))


@dg.sensor(job=email_ab_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every five minutes: run the A/B job when a test is sending, waiting for a decision, or has a winner to send.")
def email_ab_sensor(context: dg.SensorEvaluationContext, campaigns: CampaignsResource):
    now = datetime.now(UTC)
    running = open_tests(campaigns)
    if not running:
        return dg.SkipReason("no email A/B test is running")
    # at most one run per five minutes: the run key is the five-minute window
    return dg.RunRequest(run_key=f"email-ab-{now:%Y%m%dT%H}{now.minute // 5 * 5:02d}", tags={"campaigns/ab_tests": str(running)})
