"""The API app over a migrated store (SQLite and PostgreSQL) with a key per role for acme, and an owner key for globex."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from campaigns.access.api_keys import create_key
from campaigns.access.roles import Role
from campaigns.api.app import create_app
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope


@dataclass
class Api:
    client: TestClient
    store_url: str
    keys: dict[Role, str]  # acme's keys by role
    other: str  # globex's owner key
    home: Path

    def headers(self, role: Role | None = Role.OWNER, **extra: str) -> dict[str, str]:
        key = self.other if role is None else self.keys[role]
        return {"Authorization": f"Bearer {key}", **extra}

    def create(self, name: str = "Spring sale", role: Role = Role.OWNER, **fields) -> dict:
        body = {"name": name, "type": "CONVERSION", "channels": ["email"], "budget": "100.00",
                "start_date": "2027-03-01T00:00:00+00:00", "end_date": "2027-03-31T00:00:00+00:00", **fields}
        response = self.client.post("/marketing/campaigns", json=body, headers=self.headers(role))
        assert response.status_code == 201, response.text
        return response.json()


def make_api(store_url: str, home: Path, **settings) -> Api:
    with session_scope(store_url) as s:
        keys = {role: create_key(s, "acme", f"{role.value} key", role, actor="test").key for role in Role}
        other = create_key(s, "globex", "globex owner", Role.OWNER, actor="test").key
    app = create_app(Settings(home=home, token_key=Fernet.generate_key().decode(), **settings), store_url)
    return Api(TestClient(app), store_url, keys, other, home)


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield make_api(store_url, tmp_path / "home")


def write_marts(home: Path, merchant_id: str, campaign_id: str) -> None:
    """Served mart snapshots as the `serving` asset publishes them (Parquet under $CAMPAIGNS_HOME/serving), for two merchants."""
    folder = home / "serving"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(merchant_id, campaign_id), ("globex", "cmp_globex")]
    pl.DataFrame([{"merchant_id": m, "campaign_id": c, "model": model, "model_family": family, "channel": channel, "spend": 100.0,
                   "conversions": 4.0, "revenue": 300.0 if model == "markov" else 250.0, "roas": 3.0 if model == "markov" else 2.5,
                   "roi": 2.0 if model == "markov" else 1.5}
                  for m, c in rows for model, family in (("last_touch", "rule_based"), ("markov", "data_driven")) for channel in ("email", "google_ads")]
                 ).write_parquet(folder / "roi_by_model_all_models.parquet")
    pl.DataFrame([{"merchant_id": m, "model": "markov", "model_family": "data_driven", "channel": "email", "conversions": 7.0, "revenue": 700.0}
                  for m, _ in rows]).write_parquet(folder / "attribution_by_channel_all_models.parquet")
    pl.DataFrame([{"merchant_id": m, "campaign_id": c, "channel": "email", "activity_date": date(2026, 11, day), "attribution_model": "markov",
                   "impressions": 1000.0, "clicks": 50.0, "conversions": 2.0, "spend": 20.0, "revenue": 90.0, "ctr": 0.05, "cvr": 0.04,
                   "cpc": 0.4, "cpm": 20.0, "cpa": 10.0, "roas": 4.5, "roi": 3.5} for m, c in rows for day in (1, 2, 3)]
                 ).write_parquet(folder / "campaign_performance_daily.parquet")
