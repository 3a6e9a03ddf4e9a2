"""The monitor's campaign alerts as the Overview and the campaign page show them, with acknowledge and dismiss.

Alerts are raised by Ava's monitor from `campaign_metrics` (campaigns.lifecycle.alerts); here a
marketer or owner acknowledges one (seen, still active) or dismisses it (closed).
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from campaigns.lifecycle import alerts as alert_service
from dashboards import formatting as fmt
from dashboards import queries, ui

ICONS = {"critical": ":material/error:", "warning": ":material/warning:"}


def show_alerts(merchant_id: str, campaign_id: str | None = None, tz: str = "UTC") -> int:
    """Render the active alerts (one campaign's with `campaign_id`); returns how many there are."""
    rows = queries.campaign_alerts(queries.source(), merchant_id, campaign_id)
    for row in rows:
        where = "" if campaign_id else f"**{fmt.plain(row['campaign'])}**: "
        seen = f" Acknowledged by {fmt.plain(row['acknowledged_by'])}." if row["status"] == alert_service.ACKNOWLEDGED else ""
        repeat = f", found {row['times_raised']} times" if row["times_raised"] > 1 else ""
        with st.container(border=True):
            st.warning(f"{where}{fmt.plain(row['message'])}  \n_{row['severity'].title()}, last found {fmt.moment(row['last_raised_at'], tz)}"
                       f"{repeat}._{seen}", icon=ICONS.get(row["severity"], ":material/warning:"))
            bar = st.container(horizontal=True, gap="small")
            key = f"alert_{row['id']}"
            if row["status"] == alert_service.OPEN and ui.can("alert.acknowledge") and bar.button("Acknowledge", key=f"{key}_ack", icon=":material/visibility:"):
                ui.change("alert.acknowledge", alert_service.acknowledge_alert, merchant_id, row["id"], ui.actor(), datetime.now(UTC),
                          done="Alert acknowledged: it stays listed until the monitor finds the problem gone or you dismiss it.",
                          refused="The alert was not acknowledged")
            if ui.can("alert.dismiss") and bar.button("Dismiss", key=f"{key}_dismiss", icon=":material/close:"):
                ui.change("alert.dismiss", alert_service.dismiss_alert, merchant_id, row["id"], ui.actor(), datetime.now(UTC),
                          done="Alert dismissed. If the problem persists, the next monitor run raises it again.",
                          refused="The alert was not dismissed")
    return len(rows)
