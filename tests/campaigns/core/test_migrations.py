"""Alembic migrations build exactly the models' schema, and go down and up again."""

import pytest
from alembic import command
from sqlalchemy import inspect

from campaigns.core.settings import Settings
from campaigns.core.store.db import alembic_config, engine_for, migrate
from campaigns.core.store.models import Base

EXPECTED_TABLES = {
    "merchants", "campaigns", "campaign_contents", "campaign_metrics", "repurposed_content", "social_queue", "email_campaigns",
    "budget_allocations", "campaign_workflows", "social_accounts", "contacts", "segments", "email_templates", "approvals", "audit_log",
    "publish_receipts", "email_sends", "suppressions", "contact_events", "ab_tests", "ab_test_variants", "ab_test_assignments",
    "automations", "automation_enrollments", "automation_step_runs", "llm_usage", "budget_rebalances", "work_attempts",
    "webhook_endpoints", "outbox_events", "webhook_deliveries", "oauth_connections", "contact_consents", "privacy_salts", "api_keys", "idempotency_records", "merchant_brand_voices",
    # access
    "users", "memberships", "login_attempts", "user_sessions", "merchant_policies",
    # campaign monitoring
    "campaign_alerts",
}
# A person signs in once and may belong to several merchants: these tables are not scoped to one.
GLOBAL_TABLES = {"merchants", "users", "login_attempts", "user_sessions"}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return Settings(database_url=request.getfixturevalue("pg_url")).store_url


def test_upgrade_downgrade_upgrade(url: str) -> None:
    migrate(url)
    inspector = inspect(engine_for(url))
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == EXPECTED_TABLES == set(Base.metadata.tables)
    for table in EXPECTED_TABLES - GLOBAL_TABLES:
        assert "merchant_id" in {c["name"] for c in inspector.get_columns(table)}, f"{table} is tenant-owned"
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine_for(url)).get_table_names()) <= {"alembic_version"}
    migrate(url)
    migrate(url)  # idempotent
    assert EXPECTED_TABLES <= set(inspect(engine_for(url)).get_table_names())


def test_migrations_match_the_models(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(url)
    with engine_for(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_sqlite_store_uses_wal(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    with engine_for(url).connect() as connection:
        assert connection.exec_driver_sql("pragma journal_mode").scalar() == "wal"
