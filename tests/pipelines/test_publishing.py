"""The publishing sensor asks for a run only when posts are due; the job drains the queue once."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.resources import CampaignsResource
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import list_queue, schedule_text
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from pipelines.publishing import due_posts_sensor, publish_due_job


def test_sensor_and_job_publish_due_posts_once(home) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    resource = CampaignsResource(home=str(home))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(due_posts_sensor(context), dg.SkipReason)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        account = add_account(s, "acme", "x", "@acme", actor="ana")
        schedule_text(s, "acme", account_id=account.id, text="Due now", scheduled_at=datetime.now(UTC) - timedelta(minutes=1), author="ana")
        schedule_text(s, "acme", account_id=account.id, text="Later", scheduled_at=datetime.now(UTC) + timedelta(days=1), author="ana")
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        request = due_posts_sensor(context)
    assert isinstance(request, dg.RunRequest) and request.tags["campaigns/due"] == "1"
    for _ in range(2):  # a second run finds nothing more to send
        assert publish_due_job.execute_in_process(resources={"campaigns": resource}).success
    with session_scope(settings.store_url) as s:
        statuses = sorted(i.status.value for i in list_queue(s, "acme"))
    assert statuses == ["PUBLISHED", "QUEUED"]
    lines = (home / "outbox" / "x.jsonl").read_text().splitlines()
    assert len(lines) == 1 and "Due now" in lines[0]
