"""The API app over a migrated store (SQLite and PostgreSQL) with a key per role for acme, and an owner key for globex."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    return Api(TestClient(app), store_url, keys, other)


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield make_api(store_url, tmp_path / "home")
