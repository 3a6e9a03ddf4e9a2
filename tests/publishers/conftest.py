"""Local platform fakes and a real SMTP server (aiosmtpd), all on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from publishers.instagram import InstagramPublisher
from tests.publishers.fake_platforms import FakeGraph, FakeLinkedIn, FakeMailgun, FakeSendGrid, FakeX


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting to it is refused."""
    return free_port()


def _running(fake):
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    yield from _running(FakeX())


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    yield from _running(FakeGraph())


@pytest.fixture
def fake_linkedin() -> Iterator[FakeLinkedIn]:
    yield from _running(FakeLinkedIn())


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    yield from _running(FakeSendGrid())


@pytest.fixture
def fake_mailgun() -> Iterator[FakeMailgun]:
    yield from _running(FakeMailgun())


class Inbox:
    """aiosmtpd handler: keeps every message; refuses bounce@ (550) and defers defer@ (451) recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.defer_data_after: int | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("defer"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.defer_data_after is not None and len(self.messages) >= self.defer_data_after:
            return "451 4.3.0 mailbox busy, try later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


@pytest.fixture
def instagram(fake_graph: FakeGraph) -> Iterator[InstagramPublisher]:
    """Instagram on the fake Graph API; status polls are recorded in `.polls` instead of slept."""
    polls: list[float] = []
    publisher = InstagramPublisher(fake_graph.base_url(), poll_interval=5.0, sleep=polls.append, timeout=2.0)
    publisher.polls = polls  # type: ignore[attr-defined]
    yield publisher
    publisher.close()
