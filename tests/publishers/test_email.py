"""Email: a real SMTP server (aiosmtpd), SendGrid batching over 1,000 recipients, Mailgun batch sending."""

import json
from email import message_from_bytes, policy

import pytest
from pydantic import ValidationError

from publishers.base import Credentials, EmailMessage, EmailRecipient
from publishers.errors import Rejected, Retryable
from publishers.mailgun import MailgunPublisher
from publishers.sendgrid import SendGridPublisher
from publishers.smtp import SmtpPublisher


def _recipient(n: int, **kw) -> EmailRecipient:
    return EmailRecipient(email=kw.pop("email", f"user{n}@example.com"), name=kw.pop("name", f"User {n}"),
                          unsubscribe_url=f"https://shop.example.com/u/{n}?t=tok{n}", variables={"first_name": f"Name{n}"}, **kw)


def _message(recipients, **kw) -> EmailMessage:
    return EmailMessage(
        sender="Acme Outdoors <news@acme.example>", subject="Hi {{first_name}}, winter is here",
        html="<p>Hello {{first_name}}</p><a href='{{unsubscribe_url}}'>unsubscribe</a>", text="Hello {{first_name}}",
        recipients=recipients, tag="cmp_winter", unsubscribe_mailto="unsubscribe@acme.example", **kw,
    )


def test_smtp_sends_one_message_per_recipient_with_one_click_unsubscribe(smtp_server) -> None:
    host, port, inbox = smtp_server
    recipients = [_recipient(1), _recipient(2, name="O'Brien & Co")]
    receipt = SmtpPublisher(host, port, timeout=10).publish(_message(recipients), Credentials())
    assert receipt.detail["accepted"] == 2 and len(receipt.post_ids) == 2
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["user1@example.com"], ["user2@example.com"]]
    first = message_from_bytes(inbox.messages[0][2], policy=policy.default)
    assert first["List-Unsubscribe"] == "<https://shop.example.com/u/1?t=tok1>, <mailto:unsubscribe@acme.example>"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["Subject"] == "Hi Name1, winter is here"
    html = first.get_body(("html",)).get_content()
    assert "Hello Name1" in html and "https://shop.example.com/u/1?t=tok1" in html
    assert first.get_body(("plain",)).get_content().strip() == "Hello Name1"
    second = message_from_bytes(inbox.messages[1][2], policy=policy.default)
    assert second["List-Unsubscribe"].startswith("<https://shop.example.com/u/2?")


def test_smtp_reports_refused_and_deferred_recipients(smtp_server) -> None:
    host, port, inbox = smtp_server
    recipients = [_recipient(1), _recipient(2, email="bounce@example.com"), _recipient(3, email="defer@example.com")]
    receipt = SmtpPublisher(host, port).publish(_message(recipients), Credentials())
    assert receipt.detail["accepted"] == 1
    assert receipt.detail["refused"]["bounce@example.com"].startswith("550")
    assert receipt.detail["deferred"]["defer@example.com"].startswith("451")
    with pytest.raises(Rejected, match="every recipient was refused"):
        SmtpPublisher(host, port).publish(_message([_recipient(9, email="bounce2@example.com")]), Credentials())


def test_smtp_4xx_on_data_is_retryable_and_says_who_already_got_it(smtp_server) -> None:
    host, port, inbox = smtp_server
    inbox.defer_data_after = 2
    with pytest.raises(Retryable) as caught:
        SmtpPublisher(host, port).publish(_message([_recipient(n) for n in range(4)]), Credentials())
    assert caught.value.accepted == ("user0@example.com", "user1@example.com")


def test_smtp_connection_refused_is_retryable(closed_port) -> None:
    with pytest.raises(Retryable, match="nothing was sent"):
        SmtpPublisher("127.0.0.1", closed_port, timeout=5).publish(_message([_recipient(1)]), Credentials())


def test_sendgrid_batches_2500_recipients_into_requests_of_at_most_1000(fake_sendgrid) -> None:
    sendgrid = SendGridPublisher(fake_sendgrid.url())
    receipt = sendgrid.publish(_message([_recipient(n) for n in range(2500)]), Credentials.of("", "SG.test-key"))
    sizes = [len(body["personalizations"]) for body in fake_sendgrid.accepted]
    assert sizes == [1000, 1000, 500]
    assert receipt.post_ids == ("sg-msg-1", "sg-msg-2", "sg-msg-3") and receipt.detail == {"accepted": 2500, "batches": 3}
    first = fake_sendgrid.accepted[0]
    assert first["from"] == {"email": "news@acme.example", "name": "Acme Outdoors"}
    assert first["categories"] == ["cmp_winter"]
    assert first["content"][0]["type"] == "text/plain" and first["content"][1]["type"] == "text/html"
    personalization = first["personalizations"][7]
    assert personalization["to"] == [{"email": "user7@example.com", "name": "User 7"}]
    assert personalization["headers"] == {"List-Unsubscribe": "<https://shop.example.com/u/7?t=tok7>, <mailto:unsubscribe@acme.example>",
                                          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert personalization["substitutions"]["{{first_name}}"] == "Name7"
    assert sendgrid.fetch_metrics("cmp_winter", Credentials.of("", "SG.test-key")).values == {"delivered": 100, "opens": 45, "clicks": 15, "unsubscribes": 1}


def test_sendgrid_failure_in_a_later_batch_reports_what_was_accepted(fake_sendgrid) -> None:
    fake_sendgrid.fail_next("send", "ok")
    fake_sendgrid.faults["send"].append("500")
    with pytest.raises(Retryable) as caught:
        SendGridPublisher(fake_sendgrid.url()).publish(_message([_recipient(n) for n in range(1500)]), Credentials.of("", "SG.test-key"))
    assert len(caught.value.accepted) == 1000 and caught.value.partial_ids == ("sg-msg-1",)


def test_sendgrid_rate_limit_reset_header(fake_sendgrid) -> None:
    fake_sendgrid.fail_next("send", "429")
    with pytest.raises(Retryable) as caught:
        SendGridPublisher(fake_sendgrid.url()).publish(_message([_recipient(1)]), Credentials.of("", "SG.test-key"))
    assert caught.value.retry_at is not None and int(caught.value.retry_at.timestamp()) == 1_900_000_000


def test_mailgun_batch_sending_with_recipient_variables_and_basic_auth(fake_mailgun) -> None:
    mailgun = MailgunPublisher(fake_mailgun.url())
    receipt = mailgun.publish(_message([_recipient(n) for n in range(1200)]), Credentials.of("mg.acme.example", "mg-key-1"))
    assert [len(form["to"]) for form in fake_mailgun.accepted] == [1000, 200]
    form = fake_mailgun.accepted[0]
    assert form["h:List-Unsubscribe"] == ["<%recipient.unsubscribe_url%>, <mailto:unsubscribe@acme.example>"]
    assert form["h:List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert form["subject"] == ["Hi %recipient.first_name%, winter is here"]
    variables = json.loads(form["recipient-variables"][0])
    assert variables["user3@example.com"] == {"first_name": "Name3", "unsubscribe_url": "https://shop.example.com/u/3?t=tok3"}
    assert receipt.detail == {"accepted": 1200, "batches": 2}
    assert mailgun.fetch_metrics("cmp_winter", Credentials.of("mg.acme.example", "mg-key-1")).values["delivered"] == 98


def test_mailgun_wrong_key_is_auth_expired(fake_mailgun) -> None:
    from publishers.errors import AuthExpired

    with pytest.raises(AuthExpired):
        MailgunPublisher(fake_mailgun.url()).publish(_message([_recipient(1)]), Credentials.of("mg.acme.example", "wrong"))


def test_validation_names_the_field_and_the_fix() -> None:
    with pytest.raises(ValidationError, match="https:// URL"):
        EmailRecipient(email="a@example.com", unsubscribe_url="http://shop.example.com/u")
    with pytest.raises(ValidationError, match="not an email address"):
        EmailRecipient(email="nobody", unsubscribe_url="https://shop.example.com/u")
    duplicate = _message([_recipient(1), _recipient(1)])
    missing = _message([EmailRecipient(email="b@example.com", unsubscribe_url="https://shop.example.com/u/b")])
    script = _message([EmailRecipient(email="c@example.com", unsubscribe_url="https://shop.example.com/u/c", variables={"first_name": "<b>Eve</b>"})])
    publisher = SendGridPublisher("http://127.0.0.1:9")
    assert "more than once" in str(publisher.validate(duplicate)[0])
    assert str(publisher.validate(missing)[0]) == "recipients[1].variables: b@example.com has no value for first_name"
    assert "would become HTML" in str(publisher.validate(script)[0])
    with pytest.raises(Rejected, match="no value for first_name"):
        publisher.publish(missing, Credentials.of("", "SG.test-key"))  # refused before any request
