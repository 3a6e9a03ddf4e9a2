"""The Email Designer's Results tab: the empty state, totals over delivered emails only, the rate chart and the table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from campaigns.core.enums import CampaignType, EmailCampaignStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, Contact, ContactEvent, EmailCampaign, EmailSend, EmailSendStatus
from tests.dashboards.helpers import run_tab

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)  # fixed: results count the ledger, not the clock


def _page() -> None:
    from dashboards.views.email import results_tab

    results_tab.render("acme")


@pytest.fixture
def store(acme_store: str) -> str:
    with session_scope(acme_store) as s:
        s.add(Campaign(id="cmp_mail", merchant_id="acme", name="Mail", type=CampaignType.CONVERSION))
    return acme_store


def _email(url: str, subject: str, statuses: list[EmailSendStatus], created: datetime) -> tuple[int, list[int]]:
    with session_scope(url) as s:
        email = EmailCampaign(merchant_id="acme", campaign_id="cmp_mail", subject=subject, status=EmailCampaignStatus.SENT, created_at=created)
        contacts = [Contact(merchant_id="acme", email=f"{subject.lower().replace(' ', '')}{i}@example.com") for i in range(len(statuses))]
        s.add_all([email, *contacts])
        s.flush()
        for i, (contact, status) in enumerate(zip(contacts, statuses, strict=True)):
            s.add(EmailSend(merchant_id="acme", email_campaign_id=email.id, contact_id=contact.id, email=contact.email,
                            idempotency_key=f"{email.id}-{i}", status=status))
        return email.id, [c.id for c in contacts]


def _run() -> AppTest:
    return run_tab(_page)


def _chart_rows(at: AppTest) -> list[dict]:
    (chart,) = at.get("vega_lite_chart")
    return [row for d in chart.proto.datasets for row in pa.ipc.open_stream(d.data.data).read_all().to_pylist()]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_no_email_campaign_says_how_to_create_one(store: str) -> None:
    at = _run()
    assert "No email campaigns yet" in at.info[0].value
    assert "campaigns email create" in at.info[0].value
    assert not at.metric


def test_emails_not_delivered_yet_show_no_rates_and_no_chart(store: str) -> None:
    _email(store, "Queued only", [EmailSendStatus.SUPPRESSED, EmailSendStatus.FAILED], T0)
    at = _run()
    assert _metrics(at) == {"Emails delivered": "0", "Open rate": "–", "Click rate": "–", "Revenue from email": "$0"}
    assert not at.get("vega_lite_chart")
    assert at.dataframe[0].value["Subject"].to_list() == ["Queued only"]


def test_totals_and_rates_count_delivered_emails_only(store: str) -> None:
    delivered = [EmailSendStatus.SENT] * 4
    first, contacts = _email(store, "Winter sale", delivered + [EmailSendStatus.FAILED], T0)
    _email(store, "Not sent", [EmailSendStatus.SUPPRESSED], T0.replace(day=21))
    with session_scope(store) as s:
        for n, (contact, kind, value) in enumerate([(contacts[0], "opened", None), (contacts[1], "opened", None), (contacts[1], "clicked", None),
                                                    (contacts[1], "purchased", Decimal("120.00"))]):
            s.add(ContactEvent(merchant_id="acme", contact_id=contact, kind=kind, occurred_at=T0, email_campaign_id=first, value=value,
                               event_key=f"e{n}"))
    at = _run()
    assert _metrics(at) == {"Emails delivered": "4", "Open rate": "50.0%", "Click rate": "25.0%", "Revenue from email": "$120"}
    table = at.dataframe[0].value
    assert table["Subject"].to_list() == ["Not sent", "Winter sale"]  # newest first
    winter = table[table["Subject"] == "Winter sale"].iloc[0]
    assert (winter["Delivered"], winter["Failed"], winter["Open %"], winter["Click %"]) == (4, 1, 50.0, 25.0)
    charted = {row["email"] for row in _chart_rows(at)}
    assert charted == {f"#{first} Winter sale"}  # only emails with deliveries are charted
    assert at.get("download_button")
