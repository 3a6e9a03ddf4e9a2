"""Email A/B tests: every five minutes a sensor looks for running tests; the job sends due cell copies, decides, sends winners.

Each step is the service's own idempotent step (`campaigns.email.ab_tests`), so a run that
dies half-way is simply run again: a decision is stored once, the remainder campaign is created
once, and each address gets one copy.
"""

from datetime import datetime

from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.email import ab_tests
from pipelines.work_sensors import WorkResult, work_sensor


def run_ab_tests(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Move every TESTING or DECIDED test on once (counts: delivered, decided, winners_sent, waiting, failed)."""
    url = settings.store_url
    counts = {"delivered": 0, "decided": 0, "winners_sent": 0, "waiting": 0, "failed": 0}
    problems = []
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
        except Exception as exc:  # one broken test (a missing key, a refused provider) must not hold up the others; the run fails after
            counts["failed"] += 1
            problems.append(f"A/B test {test_id} of {merchant_id}: {type(exc).__name__}: {exc}")
    return WorkResult(counts, f"A/B tests: {counts}", problems=problems)


def open_tests(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        return len(ab_tests.tests_to_run(session))


email_ab = work_sensor(
    "run_email_ab_tests", work=run_ab_tests, pending=open_tests, job_name="email_ab_job", sensor_name="email_ab_sensor",
    count_tag="campaigns/ab_tests", key_prefix="email-ab", idle="no email A/B test is running", interval_seconds=300,
    description="Move every running email A/B test on once: send due cell copies, decide tests past their minimum wait, "
                "send each winner to the rest of its audience once.",
)
email_ab_job, email_ab_sensor = email_ab.job, email_ab.sensor
