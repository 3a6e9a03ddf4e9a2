"""The campaign status sensor: idle until a start or an end comes, then one run that changes each due campaign once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import time_machine

from assets.resources import CampaignsResource
from campaigns.core.enums import CampaignStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.lifecycle import service
from pipelines.campaign_status import campaign_status_job, campaign_status_sensor, tick_campaigns

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_sensor_waits_for_the_start_and_the_run_activates_once(home) -> None:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme")
        made = [service.create_campaign(s, "acme", service.CampaignInput(name=n, type="AWARENESS", channels=["x"], budget=Decimal("500"),
                                                                          start_date=START, end_date=START + timedelta(days=7)), actor="ana").id
                for n in ("Winter", "Spring")]
        for campaign_id in made:
            service.transition(s, "acme", campaign_id, "schedule", "ana")
        service.get_campaign(s, "acme", made[1]).budget = None  # cannot launch: a problem the run reports
    resource = CampaignsResource(home=str(home))
    with time_machine.travel(START - timedelta(minutes=1), tick=False):
        with dg.build_sensor_context(resources={"campaigns": resource}) as context:
            assert campaign_status_sensor(context) == dg.SkipReason("no campaign starts or ends now")
    with time_machine.travel(START, tick=False):
        with dg.build_sensor_context(resources={"campaigns": resource}) as context:
            request = campaign_status_sensor(context)
        assert isinstance(request, dg.RunRequest) and request.tags == {"campaigns/due_status_changes": "2"}
        result = campaign_status_job.execute_in_process(resources={"campaigns": resource}, raise_on_error=False)
    assert not result.success  # the campaign without a budget is reported, the other one still started
    with session_scope(settings.store_url) as s:
        assert [service.get_campaign(s, "acme", c).status for c in made] == [CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED]
    again = tick_campaigns(settings, "w2", START + timedelta(minutes=1))
    assert again.metadata == {"activated": 0, "completed": 0, "skipped": 0, "refused": 1}
    assert again.problems == [f"campaign {made[1]} could not start: cannot launch: set a budget above zero first"]
    done = tick_campaigns(settings, "w3", START + timedelta(days=7))
    assert done.metadata["completed"] == 1 and f"{made[0]} (acme) completed at 2026-12-08 08:00 UTC" in done.summary
