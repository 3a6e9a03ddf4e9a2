"""The Email Designer's templates tab in AppTest: gallery, problems with lines, sandboxed preview, save, test send."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from tests.dashboards.helpers import as_member

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, EmailTemplate
from dashboards.formatting import plain
from dashboards.views.email.templates_tab import sandboxed_frame
from publishers.sandbox import read_outbox

SCRIPT = """
from dashboards.views.email import templates_tab
templates_tab.render("acme")
"""


@pytest.fixture
def tab(home: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add(Contact(merchant_id="acme", email="zoe@example.com", first_name="Zoe"))
    at = as_member(AppTest.from_string(SCRIPT, default_timeout=30), "acme")
    return at.run()


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_gallery_preview_save_and_test_send(tab: AppTest, home: Path) -> None:
    at = tab
    assert not at.exception
    assert any("No email templates yet" in i.value for i in at.info)
    at.selectbox(key="tpl_gallery").set_value("Promotion")
    _button(at, "tpl_use_starter").click()
    at.run()
    assert not at.exception and at.text_input(key="tpl_name").value == "Promotion"
    assert any("no problems" in c.value for c in at.caption)
    assert any("Subject:** Alex, 20% off ends Sunday" in m.value for m in at.markdown)  # the sample contact
    at.selectbox(key="tpl_contact").set_value("Zoe  <zoe@example.com>")
    at.run()
    assert any("Subject:** Zoe, 20% off ends Sunday" in m.value for m in at.markdown)
    _button(at, "tpl_save").click()
    at.run()
    assert not at.exception
    with session_scope(get_settings().store_url) as s:
        assert s.query(EmailTemplate).filter_by(merchant_id="acme", name="Promotion").one().starter is None
    assert any("Saved template" in m.value for m in at.success)
    at.text_input(key="tpl_test_to").set_value("qa@acme.example")
    at.run()
    _button(at, "tpl_test_send").click()
    at.run()
    assert any("Test sent to qa@acme.example via sandbox" in s.value for s in at.success)
    assert read_outbox(home / "outbox" / "email.jsonl")[0]["recipients"][0]["email"] == "qa@acme.example"


def test_problems_are_listed_with_lines_and_block_saving(tab: AppTest) -> None:
    at = tab
    at.selectbox(key="tpl_layout").set_value("none")
    at.text_area(key="tpl_html").set_value("<p>Hi</p>\n<p>{{ nickname }}</p>\n{{ ''.__class__ }}")
    at.run()
    shown = " ".join(m.value for m in at.markdown)
    assert "3 problem(s)" in shown and "line 2: unknown merge tag {{ nickname }}" in shown and plain("line 3: access to '__class__'") in shown  # shown as text
    assert _button(at, "tpl_save").disabled


def test_preview_frame_is_sandboxed_without_permissions() -> None:
    frame = sandboxed_frame('<p onclick="x()">"hi" & <script>alert(1)</script></p>')
    assert frame.startswith('<iframe sandbox="" ') and "<script>" not in frame and "&lt;script&gt;" in frame and "&quot;hi&quot;" in frame
