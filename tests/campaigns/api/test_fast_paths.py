"""The hot paths: a verified key is trusted for a moment (revocation still applies, expiry at once), the campaign
list is rendered from plain rows, and a response that does not fit its schema is a server error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from fastapi.exceptions import ResponseValidationError

from campaigns.access.api_keys import create_key, list_keys, revoke_key
from campaigns.access.roles import Role
from campaigns.api.marketing.analytics import ROI_ROWS
from campaigns.api.rendering import json_response
from campaigns.core.store.db import session_scope
from tests.campaigns.api.conftest import Api, make_api


def _revoke(store_url: str, name: str) -> None:
    with session_scope(store_url) as s:
        key = next(k for k in list_keys(s, "acme") if k.name == name)
        revoke_key(s, "acme", key.id, actor="test")


def test_a_revoked_key_is_refused_once_its_verification_is_due(store_url: str, tmp_path) -> None:
    api = make_api(store_url, tmp_path / "home")
    now = [100.0]
    api.client.app.state.verified_keys.clock = lambda: now[0]
    viewer = api.headers(Role.VIEWER)
    assert api.client.get("/marketing/campaigns", headers=viewer).status_code == 200
    _revoke(store_url, "viewer key")
    assert api.client.get("/marketing/campaigns", headers=viewer).status_code == 200  # within the second it was verified for
    now[0] += 1.0
    gone = api.client.get("/marketing/campaigns", headers=viewer)
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    assert api.client.get("/marketing/campaigns", headers=api.headers(Role.OWNER)).status_code == 200  # other keys unaffected


def test_without_the_cache_a_revocation_applies_to_the_next_request(store_url: str, tmp_path) -> None:
    api = make_api(store_url, tmp_path / "home", api_key_cache_seconds=0)
    assert api.client.get("/marketing/campaigns", headers=api.headers(Role.MARKETER)).status_code == 200
    _revoke(store_url, "marketer key")
    assert "revoked" in api.client.get("/marketing/campaigns", headers=api.headers(Role.MARKETER)).json()["detail"]


def test_an_expiry_applies_at_once_to_a_key_verified_a_moment_ago(api: Api) -> None:
    api.client.app.state.verified_keys.clock = lambda: 5.0  # the cache entry never goes stale on its own here
    with session_scope(api.store_url) as s:
        soon = create_key(s, "acme", "soon", Role.VIEWER, actor="test", expires_in=timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {soon.key}"}
    assert api.client.get("/marketing/campaigns", headers=headers).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6)):
        expired = api.client.get("/marketing/campaigns", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_the_list_renders_each_campaign_as_get_does(api: Api) -> None:
    made = [api.create("Plain"), api.create("Sans budget ☀", budget=None, start_date=None, end_date=None, description="Été, 50 % off"),
            api.create("Nested", target_audience={"age": [25, 40], "tags": {"vip": True}}, goals={"roas": 3.5, "revenue": 10000},
                       budget=str(Decimal("1234.5")), channels=["email", "google_ads"], start_date="2027-01-01T08:30:00.000001+02:00")]
    listed = api.client.get("/marketing/campaigns", headers=api.headers(Role.VIEWER))
    assert listed.headers["content-type"] == "application/json"
    items = {c["id"]: c for c in listed.json()["items"]}
    for campaign in made:
        assert items[campaign["id"]] == api.client.get(f"/marketing/campaigns/{campaign['id']}", headers=api.headers()).json()
    assert items[made[2]["id"]]["budget"] == "1234.50" and items[made[1]["id"]]["budget"] is None
    assert items[made[2]["id"]]["start_date"] == "2027-01-01T06:30:00.000001Z"


def test_a_response_that_does_not_fit_its_schema_is_a_server_error() -> None:
    with pytest.raises(ResponseValidationError):  # a 500 (as FastAPI's own check gives), not a 422 that blames the request
        json_response(ROI_ROWS, [{"model": "markov", "channel": "email", "spend": "lots"}])
    assert json_response(ROI_ROWS, []).body == b"[]"


def test_concurrent_requests_with_a_key_to_verify_ask_the_store_once(store_url: str, tmp_path) -> None:
    import asyncio

    from campaigns.api.auth import VerifiedKeys

    api = make_api(store_url, tmp_path / "home")
    keys = VerifiedKeys(1.0)
    asked: list[str] = []
    verify = keys._verify

    def counted(*args):  # noqa: ANN002
        asked.append(args[1])
        return verify(*args)

    keys._verify = counted

    async def burst() -> list:
        return await asyncio.gather(*(keys.verify(store_url, api.keys[Role.VIEWER]) for _ in range(5)),
                                    keys.verify(store_url, "co_123_nope"), return_exceptions=True)

    results = asyncio.run(burst())
    assert len(asked) == 2 and {r.name for r in results[:5]} == {"viewer key"} and "not valid" in str(results[5])
    assert keys.get(api.keys[Role.VIEWER]).role is Role.VIEWER and keys.get("co_123_nope") is None
