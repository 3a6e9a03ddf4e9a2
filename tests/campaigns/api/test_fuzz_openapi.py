"""Property-based fuzzing of the whole OpenAPI document (a short budget): no 500, every response as documented."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from tests.campaigns.api.conftest import make_api, write_marts


def test_every_operation_answers_as_documented(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"  # the routes are the same on both backends; the other API tests run PostgreSQL too
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        ensure_merchant(s, "globex")
    api = make_api(url, tmp_path / "home", api_rate_limit_per_minute=100_000)
    existing = api.create("Existing")  # something for the id routes to find, besides the ids the fuzzer makes up
    write_marts(api.home, "acme", existing["id"])  # analytics answer with rows, so their 200 responses are checked too
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    auth = {"Authorization": f"Bearer {api.keys[Role.OWNER]}"}
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.method.upper() == "DELETE")  # the existing campaign lives to the end
    assert len(operations) >= 7  # every /marketing route is in the document

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case) -> None:
            # a schema-valid body may still break a business rule (a duplicate name, an end before the start): 422 is right then
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])
            if case.path_parameters and "campaign_id" in case.path_parameters:  # and once on a campaign that exists, with data
                case.path_parameters["campaign_id"] = existing["id"]
                case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        fuzz()
