"""Google Analytics 4 Data API: daily RunReport pulls through the official client.

The REST transport is used so the endpoint can be redirected (CAMPAIGNS_GA4_ENDPOINT, e.g.
a proxy or a local test server speaking GA4's JSON). Quota errors (429) and unavailability
(503) are retried with backoff; pages are followed until every row is read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry

from campaigns.warehouse.schema import GA4_SESSIONS

DIMENSIONS = ("date", "sessionSource", "sessionMedium", "sessionCampaignName")
PAGE_SIZE = 10_000

QUOTA_RETRY = gretry.Retry(
    predicate=gretry.if_exception_type(gexc.TooManyRequests, gexc.ResourceExhausted, gexc.ServiceUnavailable, gexc.InternalServerError),
    initial=1.0,
    maximum=60.0,
    multiplier=2.0,
    timeout=600.0,
)


class GA4Error(RuntimeError):
    """A GA4 request failed for a reason retrying does not fix; the message says what to check."""


def ga4_client(endpoint: str, credentials: Any = None):
    """A Data API client on the REST transport; `credentials` default to Google's ADC lookup."""
    from google.analytics.data_v1beta import BetaAnalyticsDataClient

    return BetaAnalyticsDataClient(transport="rest", credentials=credentials, client_options={"api_endpoint": endpoint})


def fetch_day(client, property_id: str, day: date, conversion_metric: str = "keyEvents", merchant_id: str = "demo", retry: gretry.Retry = QUOTA_RETRY, page_size: int = PAGE_SIZE) -> pl.DataFrame:
    """Sessions, conversions and revenue by source, medium and campaign for one day."""
    from google.analytics.data_v1beta.types import DateRange, Dimension, Metric, RunReportRequest

    metrics = ("sessions", conversion_metric, "totalRevenue")
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        request = RunReportRequest(
            property=f"properties/{property_id}",
            date_ranges=[DateRange(start_date=day.isoformat(), end_date=day.isoformat())],
            dimensions=[Dimension(name=d) for d in DIMENSIONS],
            metrics=[Metric(name=m) for m in metrics],
            limit=page_size,
            offset=offset,
            keep_empty_rows=False,
        )
        try:
            response = client.run_report(request=request, retry=retry, timeout=120.0)
        except (gexc.Forbidden, gexc.PermissionDenied, gexc.Unauthorized, gexc.Unauthenticated) as exc:
            raise GA4Error(f"GA4 refused property {property_id}: {exc.message}; grant the service account Viewer access to the property") from exc
        except (gexc.BadRequest, gexc.InvalidArgument, gexc.NotFound) as exc:
            raise GA4Error(f"GA4 rejected the report for property {property_id}: {exc.message}; check CAMPAIGNS_GA4_PROPERTY_ID and the metric name {conversion_metric!r}") from exc
        dims = [h.name for h in response.dimension_headers]
        mets = [h.name for h in response.metric_headers]
        for row in response.rows:
            values = dict(zip(dims, (v.value for v in row.dimension_values), strict=True))
            values.update(zip(mets, (v.value for v in row.metric_values), strict=True))
            rows.append(values)
        offset += len(response.rows)
        if not response.rows or offset >= response.row_count:
            break
    return _to_frame(rows, conversion_metric, merchant_id)


def _to_frame(rows: list[dict[str, Any]], conversion_metric: str, merchant_id: str) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=GA4_SESSIONS.polars_schema)
    frame = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})
    return frame.select(
        pl.lit(merchant_id).alias("merchant_id"),
        pl.col("date").str.to_date("%Y%m%d").alias("date"),
        pl.col("sessionSource").alias("source"),
        pl.col("sessionMedium").alias("medium"),
        pl.col("sessionCampaignName").alias("campaign_name"),
        pl.col("sessions").cast(pl.Float64).cast(pl.Int64).alias("sessions"),
        pl.col(conversion_metric).cast(pl.Float64).alias("conversions"),
        pl.col("totalRevenue").cast(pl.Float64).alias("revenue"),
    ).cast(GA4_SESSIONS.polars_schema)  # type: ignore[arg-type]
