"""The A/B sensor asks for a run only while tests are open; the job decides and sends the winner to the rest once."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from cryptography.fernet import Fernet
from sqlalchemy import select

from assets.resources import CampaignsResource
from campaigns.email import ab_tests
from campaigns.lifecycle import service as campaign_service
from campaigns.core.merchants import ensure_merchant
from campaigns.audiences.segments import save_segment
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import AbTestVariant, Contact, ContactEvent, EmailSend
from pipelines.email_ab import email_ab_job, email_ab_sensor
from publishers.sandbox import read_outbox


def test_sensor_and_job_decide_and_send_the_winner_once(home, monkeypatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.store_url)
    resource = CampaignsResource(home=str(home))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(email_ab_sensor(context), dg.SkipReason)
    started = datetime.now(UTC) - timedelta(hours=5)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com") for i in range(12)])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        test = ab_tests.create_ab_test(s, "acme", {"name": "t", "campaign_id": campaign.id, "segment_id": segment.id, "variable": "subject",
                                                   "variants": [{"subject": "One"}, {"subject": "Two"}], "cell_size": 4, "min_hours": 4},
                                       actor="ana", now=started)
        ab_tests.start_ab_test(s, "acme", test.id, "ana", now=started)
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        request = email_ab_sensor(context)
    assert isinstance(request, dg.RunRequest) and request.tags["campaigns/ab_tests"] == "1"

    assert email_ab_job.execute_in_process(resources={"campaigns": resource}).success  # delivers the cells; nobody opened yet: wait
    with session_scope(settings.store_url) as s:
        assert ab_tests.get_test(s, "acme", test.id).status == "TESTING"
        control = s.scalar(select(AbTestVariant).where(AbTestVariant.ab_test_id == test.id, AbTestVariant.position == 0))
        for k, cid in enumerate(s.scalars(select(EmailSend.contact_id).where(EmailSend.email_campaign_id == control.email_campaign_id))):
            s.add(ContactEvent(merchant_id="acme", contact_id=cid, kind="opened", occurred_at=datetime.now(UTC),
                               email_campaign_id=control.email_campaign_id, event_key=f"o{k}"))
    for _ in range(2):  # the second run finds nothing left to do
        assert email_ab_job.execute_in_process(resources={"campaigns": resource}).success
    with session_scope(settings.store_url) as s:
        done = ab_tests.get_test(s, "acme", test.id)
        # control 4/4 -> Beta(5, 1), variant 0/4 -> Beta(1, 5): P(variant beats control) = 1/252 <= 0.05, so the control wins
        assert done.status == "WINNER_SENT" and done.winner_position == 0 and done.decision["result"]["outcome"] == "control"
    emails = [r["email"] for e in read_outbox(home / "outbox" / "email.jsonl") for r in e["recipients"]]
    assert len(emails) == 12 and len(set(emails)) == 12
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(email_ab_sensor(context), dg.SkipReason)
