"""The webhook sensor asks for a run only while an event or a due delivery waits; the job delivers."""

from datetime import UTC, datetime

import dagster as dg
from cryptography.fernet import Fernet

from assets.resources import CampaignsResource
from campaigns.core.crypto import TokenCipher
from campaigns.core.merchants import ensure_merchant
from campaigns.core.outbox import emit
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.integrations.endpoints import add_endpoint
from pipelines.outbound_webhooks import deliver_webhooks_once, outbound_webhooks
from tests.campaigns.integrations.receiver import serve_receiver


def test_sensor_skips_when_idle_then_the_job_delivers(home, monkeypatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", key)
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    resource = CampaignsResource(home=str(home))
    with dg.build_sensor_context(resources={"campaigns": resource}) as context:
        assert isinstance(outbound_webhooks.sensor(context), dg.SkipReason)
    with serve_receiver("") as receiver:
        with session_scope(url) as s:
            ensure_merchant(s, "acme")
            _, secret = add_endpoint(s, "acme", receiver.url, None, actor="ana", cipher=TokenCipher(key))
            receiver.secret = secret.secret
            event_id = emit(s, "acme", "campaign.status_changed", {"campaign_id": "c1", "to": "ACTIVE"})
        with dg.build_sensor_context(resources={"campaigns": resource}) as context:
            request = outbound_webhooks.sensor(context)
        assert isinstance(request, dg.RunRequest) and request.tags["campaigns/webhooks"] == "1"
        result = outbound_webhooks.job.execute_in_process(resources={"campaigns": resource})
        assert result.success
        assert list(receiver.unique()) == [event_id]
    again = deliver_webhooks_once(get_settings(), "direct", datetime.now(UTC))
    assert again.metadata == {"dispatched": 0, "delivered": 0, "retrying": 0, "failed": 0} and again.warnings == []
