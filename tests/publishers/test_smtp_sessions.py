"""SMTP session paths against a real local server (aiosmtpd): login, STARTTLS refused, a dropped
connection mid-send, refusal before connecting, and the headers of one message."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from publishers.base import Credentials, EmailMessage, EmailRecipient
from publishers.errors import Ambiguous, AuthExpired, Rejected, Retryable
from publishers.smtp import SmtpPublisher
from tests.publishers.conftest import Inbox, free_port


def _recipient(n: int) -> EmailRecipient:
    return EmailRecipient(email=f"user{n}@example.com", unsubscribe_url=f"https://shop.example.com/u/{n}", variables={"first_name": f"N{n}"})


def _message(recipients, **kw) -> EmailMessage:
    return EmailMessage(sender="Acme <news@acme.example>", subject="Hi {{first_name}}", html="", text="Hello {{first_name}}",
                        recipients=recipients, **kw)


class CheckingAuth:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.seen.append((user, password))
        ok = user == "mailer" and password == "s3cret"
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


class DropsOnData(Inbox):
    """Accepts the first `keep` messages, then closes the connection instead of answering DATA."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    async def handle_DATA(self, server, session, envelope):
        if len(self.messages) >= self.keep:
            server.transport.close()
            return "250 never heard"
        return await super().handle_DATA(server, session, envelope)


def _serve(handler, **kw) -> Iterator[tuple[int, Controller]]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def auth_server():
    inbox, auth = Inbox(), CheckingAuth()
    # PLAIN only, so a refused login is one attempt (smtplib tries each advertised mechanism in turn)
    for port in _serve(inbox, authenticator=auth, auth_require_tls=False, auth_required=True, auth_exclude_mechanism=["LOGIN"]):
        yield port, inbox, auth


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_login_with_the_account_and_token(auth_server) -> None:
    port, inbox, auth = auth_server
    receipt = SmtpPublisher("127.0.0.1", port).publish(_message([_recipient(1)]), Credentials.of("mailer", "s3cret"))
    assert auth.seen == [("mailer", "s3cret")] and receipt.detail["accepted"] == 1
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["user1@example.com"]]


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_a_refused_login_is_auth_expired_and_sends_nothing(auth_server) -> None:
    port, inbox, auth = auth_server
    with pytest.raises(AuthExpired, match=r"SMTP login refused \(535\)") as caught:
        SmtpPublisher("127.0.0.1", port, timeout=5).publish(_message([_recipient(1)]), Credentials.of("mailer", "wrong"))
    assert caught.value.status_code == 535 and "wrong" not in str(caught.value)
    assert auth.seen == [("mailer", "wrong")] and inbox.messages == []


def test_starttls_on_a_server_without_it_is_retryable(smtp_server) -> None:
    host, port, inbox = smtp_server
    with pytest.raises(Retryable, match=r"SMTP session setup failed \(SMTPNotSupportedError\); nothing was sent"):
        SmtpPublisher(host, port, starttls=True).publish(_message([_recipient(1)]), Credentials())
    assert inbox.messages == []


def test_a_connection_lost_mid_batch_is_ambiguous_and_names_who_got_it() -> None:
    inbox = DropsOnData(keep=1)
    for port in _serve(inbox):
        with pytest.raises(Ambiguous, match="connection lost while sending to user2@example.com .*1 earlier recipients were accepted") as caught:
            SmtpPublisher("127.0.0.1", port, timeout=5).publish(_message([_recipient(1), _recipient(2), _recipient(3)]), Credentials())
    assert caught.value.accepted == ("user1@example.com",) and len(caught.value.partial_ids) == 1
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["user1@example.com"]]


def test_an_invalid_message_is_refused_before_connecting(closed_port) -> None:
    duplicate = _message([_recipient(1), _recipient(1)])
    # nothing listens on closed_port: a connection attempt would be Retryable, not Rejected
    with pytest.raises(Rejected, match="more than once"):
        SmtpPublisher("127.0.0.1", closed_port).publish(duplicate, Credentials())


def test_reply_to_plain_text_only_and_no_metrics(smtp_server) -> None:
    host, port, inbox = smtp_server
    publisher = SmtpPublisher(host, port)
    assert repr(publisher) == f"SmtpPublisher(host='127.0.0.1', port={port})"
    receipt = publisher.publish(_message([_recipient(4)], reply_to="help@acme.example"), Credentials())
    mime = message_from_bytes(inbox.messages[0][2], policy=policy.default)
    assert mime["Reply-To"] == "help@acme.example" and mime["X-Campaign-Tag"] is None
    assert not mime.is_multipart() and mime.get_content().strip() == "Hello N4"
    assert receipt.post_id == mime["Message-ID"] and mime["Message-ID"].endswith("@acme.example>")
    metrics = publisher.fetch_metrics(receipt.post_id, Credentials())
    assert metrics.values == {} and metrics.note.startswith("SMTP reports no opens or clicks")
