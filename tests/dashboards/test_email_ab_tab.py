"""The A/B tab in Streamlit's AppTest: the empty state, a validated form, and a started test's results with the decision stated."""

from __future__ import annotations

from campaigns.audiences.segments import save_segment
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact
from campaigns.lifecycle import service as campaign_service
from tests.dashboards.helpers import run_tab


def _page() -> None:
    from dashboards.views.email import ab_tab

    ab_tab.render("acme")


def test_empty_state_then_form_validation_and_results(acme_store: str) -> None:
    at = run_tab(_page)
    assert "needs a campaign and a saved segment" in at.info[0].value
    with session_scope(acme_store) as s:
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com") for i in range(10)])
        campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        save_segment(s, "acme", "Everyone", {}, actor="ana")
    at = run_tab(_page)
    assert "No A/B test yet" in at.info[0].value
    at.text_area[0].set_value("Hello\nHello")
    at.number_input[0].set_value(3)
    at.button[0].click().run()
    assert not at.exception and any("variants' subjects must all differ" in m.value for m in at.markdown)
    at.text_area[0].set_value("Hello\nSave 20%")
    at.button[0].click().run()
    assert not at.exception
    assert at.selectbox(key="ab_test_pick").value == 1
    assert "No decision yet" in at.info[0].value and "Beta(1, 1)" in at.caption[-1].value
    spec = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "open rate (95% interval)" in spec and "strokeDash" in spec  # the intervals and the control reference line
