"""The Dagster code location. Built lazily: nothing parses or connects at import time."""

import dagster as dg

from assets.catalog import asset_catalog
from assets.resources import build_resources
from campaigns.core.settings import Settings
from pipelines.automations import automations
from pipelines.campaign_status import campaign_status
from pipelines.email_ab import email_ab
from pipelines.email_sends import scheduled_emails
from pipelines.executors import executor_for
from pipelines.jobs import JOBS, SCHEDULES, SENSORS
from pipelines.outbound_webhooks import outbound_webhooks
from pipelines.publishing import publishing
from pipelines.workflows import workflows

WORK_SENSORS = [publishing, workflows, automations, email_ab, scheduled_emails, campaign_status, outbound_webhooks]


@dg.definitions
def defs() -> dg.Definitions:
    catalog = asset_catalog()
    return dg.Definitions(
        assets=catalog.assets, asset_checks=catalog.checks, schedules=SCHEDULES, resources=build_resources(),
        jobs=[*JOBS, *(w.job for w in WORK_SENSORS)], sensors=[*catalog.sensors, *(w.sensor for w in WORK_SENSORS), *SENSORS],
        executor=executor_for(Settings().warehouse),
    )
