"""GA4 ingest through the official client (REST transport) against a local server speaking GA4's JSON.

The server paginates with limit/offset and rowCount, answers 429 (quota) before succeeding,
and rejects a bad property like GA4 does; expected rows are written out in the test.
"""

import json
from datetime import date

import pytest
from google.auth.credentials import AnonymousCredentials
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaigns.warehouse.ga4 import QUOTA_RETRY, GA4Error, fetch_day, ga4_client

DAY = date(2026, 11, 20)
ROWS = [
    ("20261120", "google", "cpc", "brand", "120", "6", "480.5"),
    ("20261120", "newsletter", "email", "winter", "80", "4", "300"),
    ("20261120", "(direct)", "(none)", "(not set)", "50", "1", "0"),
]
FAST_RETRY = QUOTA_RETRY.with_delay(initial=0.01, maximum=0.05).with_timeout(5.0)  # the production predicate, shorter waits


def ga4_handler(calls: list[dict], fail_first_with: int | None = None):
    def handler(request: Request) -> Response:
        body = json.loads(request.data)
        calls.append(body)
        if fail_first_with and len(calls) == 1:
            return Response(json.dumps({"error": {"code": fail_first_with, "message": "Exhausted property tokens per hour", "status": "RESOURCE_EXHAUSTED"}}), status=fail_first_with, content_type="application/json")
        offset, limit = int(body.get("offset", 0)), int(body["limit"])
        page = ROWS[offset : offset + limit]
        payload = {
            "dimensionHeaders": [{"name": d["name"]} for d in body["dimensions"]],
            "metricHeaders": [{"name": m["name"], "type": "TYPE_INTEGER"} for m in body["metrics"]],
            "rows": [{"dimensionValues": [{"value": v} for v in r[:4]], "metricValues": [{"value": v} for v in r[4:]]} for r in page],
            "rowCount": len(ROWS),
            "kind": "analyticsData#runReport",
        }
        return Response(json.dumps(payload), content_type="application/json")

    return handler


@pytest.fixture
def client(httpserver: HTTPServer):
    return ga4_client(f"http://127.0.0.1:{httpserver.port}", AnonymousCredentials())


def test_paginates_and_parses(httpserver: HTTPServer, client) -> None:
    calls: list[dict] = []
    httpserver.expect_request("/v1beta/properties/123:runReport", method="POST").respond_with_handler(ga4_handler(calls))
    frame = fetch_day(client, "123", DAY, merchant_id="acme", retry=FAST_RETRY, page_size=2)
    assert [c["offset"] if "offset" in c else "0" for c in calls] == ["0", "2"]
    assert calls[0]["dateRanges"] == [{"startDate": "2026-11-20", "endDate": "2026-11-20"}]
    assert [d["name"] for d in calls[0]["dimensions"]] == ["date", "sessionSource", "sessionMedium", "sessionCampaignName"]
    assert [m["name"] for m in calls[0]["metrics"]] == ["sessions", "keyEvents", "totalRevenue"]
    assert frame.to_dicts() == [
        {"merchant_id": "acme", "date": DAY, "source": "google", "medium": "cpc", "campaign_name": "brand", "sessions": 120, "conversions": 6.0, "revenue": 480.5},
        {"merchant_id": "acme", "date": DAY, "source": "newsletter", "medium": "email", "campaign_name": "winter", "sessions": 80, "conversions": 4.0, "revenue": 300.0},
        {"merchant_id": "acme", "date": DAY, "source": "(direct)", "medium": "(none)", "campaign_name": "(not set)", "sessions": 50, "conversions": 1.0, "revenue": 0.0},
    ]


def test_quota_429_is_retried(httpserver: HTTPServer, client) -> None:
    calls: list[dict] = []
    httpserver.expect_request("/v1beta/properties/123:runReport", method="POST").respond_with_handler(ga4_handler(calls, fail_first_with=429))
    frame = fetch_day(client, "123", DAY, retry=FAST_RETRY)
    assert len(calls) == 2 and frame.height == 3


def test_bad_property_is_a_clear_error(httpserver: HTTPServer, client) -> None:
    httpserver.expect_request("/v1beta/properties/999:runReport", method="POST").respond_with_json(
        {"error": {"code": 403, "message": "User does not have sufficient permissions for this property.", "status": "PERMISSION_DENIED"}}, status=403
    )
    with pytest.raises(GA4Error, match="grant the service account Viewer access"):
        fetch_day(client, "999", DAY, retry=FAST_RETRY)


def test_empty_day(httpserver: HTTPServer, client) -> None:
    httpserver.expect_request("/v1beta/properties/123:runReport", method="POST").respond_with_json(
        {"dimensionHeaders": [], "metricHeaders": [], "rowCount": 0, "kind": "analyticsData#runReport"}
    )
    assert fetch_day(client, "123", DAY, retry=FAST_RETRY).height == 0
