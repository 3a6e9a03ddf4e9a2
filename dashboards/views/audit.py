"""Audit log: who did what, when, on this merchant; filter and export as CSV. Owners only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import streamlit as st

from campaigns.access.roles import Permission
from campaigns.core.audit import AuditFilter
from dashboards import queries, ui


def _utc(day: date | None, shift: int = 0) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=shift), time(), UTC)


def main() -> None:
    merchant_id = ui.current_merchant(Permission.ADMIN)
    st.title("Audit log")
    st.caption("Every approval, launch, send, rebalance, member and key change, with the person who made it. Times are UTC.")
    actor_col, action_col, entity_col, since_col, until_col = st.columns([2, 2, 2, 1, 1])
    actor = actor_col.text_input("Actor", key="audit_actor", placeholder="ana@example.com").strip() or None
    action = action_col.text_input("Action", key="audit_action", placeholder="content.approve, or content. for all").strip() or None
    entity = entity_col.text_input("Entity id", key="audit_entity", placeholder="cmp_… or a content id").strip() or None
    since = since_col.date_input("From", value=None, key="audit_since")
    until = until_col.date_input("To", value=None, key="audit_until")
    where = AuditFilter(actor=actor, action=action, entity_id=entity, since=_utc(since), until=_utc(until, 1), limit=1000)
    rows = queries.audit_entries(queries.source(), merchant_id, where)
    if not rows:
        ui.empty_state("No audit entries match. Clear a filter, or make a change (approve, launch, rebalance) and it appears here.")
        return
    st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch", key="audit_table",
                 column_config={"when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss")})
    st.caption(f"{len(rows)} entries, newest first" + (" (the newest 1000; narrow the filter or export from the CLI)" if len(rows) == 1000 else ""))
    st.download_button("Export CSV", queries.audit_csv(queries.source(), merchant_id, where), file_name=f"audit_{merchant_id}.csv",
                       mime="text/csv", key="audit_export", icon=":material/download:")


main()
