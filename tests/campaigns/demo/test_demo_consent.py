"""The demo merchant's contacts carry consent records, so marketing email still reaches them."""

from datetime import date, timedelta

from sqlalchemy import func, select

from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactConsent
from campaigns.demo.generator import DEMO_MERCHANT, generate
from campaigns.demo.writer import write_demo


def test_every_subscribed_demo_contact_has_a_granted_consent(home) -> None:
    settings = get_settings()
    as_of = date(2026, 3, 1)
    write_demo(settings, generate("demo", seed=7, as_of=as_of))
    with session_scope(settings.store_url) as s:
        subscribed = s.scalar(select(func.count()).select_from(Contact).where(Contact.merchant_id == DEMO_MERCHANT, Contact.subscribed.is_(True)))
        consents = s.execute(select(ContactConsent.granted, ContactConsent.source, ContactConsent.occurred_at)
                             .where(ContactConsent.merchant_id == DEMO_MERCHANT)).all()
    assert subscribed == 400 == len(consents)
    assert {(granted, source) for granted, source, _ in consents} == {(True, "demo: newsletter form")}
    assert {at.date() for _, _, at in consents} == {as_of - timedelta(days=365)}
