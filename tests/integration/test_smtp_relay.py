"""The development relay: local mailboxes to inbound intake, the rest upstream or refused."""

import smtplib

import pytest

from core.mda.dev_relay import build_relay
from core.models import InboundMessage, Mailbox
from tests.smtp_servers import closed_port_settings
from tests.support import free_port, queue_length

MESSAGE = (
    b"From: s@example.org\r\nTo: alice@example.org\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nHello\r\n"
)


@pytest.fixture
def start_relay():
    started = []

    def start(upstream=None):
        port = free_port()
        controller = build_relay("127.0.0.1", port, upstream, 1024 * 1024)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def deliver(port: int, recipients: list[str], raw: bytes = MESSAGE) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail("s@example.org", recipients, raw)


def test_mail_for_a_local_mailbox_goes_to_intake_whatever_the_case(broker, db, start_relay):
    Mailbox.objects.create(address="Alice@Example.org")
    port = start_relay()
    assert deliver(port, ["alice@EXAMPLE.org"]) == {}
    [row] = InboundMessage.objects.all()
    assert row.recipients == ["alice@EXAMPLE.org"] and bytes(row.raw).startswith(b"From: s@example.org")
    assert queue_length(broker, "inbound") == 1


def test_other_recipients_are_refused_with_550_without_an_upstream(broker, db, start_relay):
    Mailbox.objects.create(address="alice@example.org")
    port = start_relay()
    refused = deliver(port, ["alice@example.org", "bob@elsewhere.example"])
    assert refused == {
        "bob@elsewhere.example": (550, b"5.1.1 <bob@elsewhere.example>: no such mailbox here, and no upstream relay")
    }
    assert [r.recipients for r in InboundMessage.objects.all()] == [["alice@example.org"]]


def test_other_recipients_go_to_the_upstream_relay(broker, db, start_relay, smtp_server):
    Mailbox.objects.create(address="alice@example.org")
    port = start_relay(upstream=smtp_server.settings)
    assert deliver(port, ["alice@example.org", "bob@elsewhere.example"]) == {}
    [upstream] = smtp_server.handler.received
    assert upstream.recipients == ["bob@elsewhere.example"] and upstream.content == MESSAGE
    assert InboundMessage.objects.count() == 1


def test_an_upstream_that_is_down_is_a_temporary_failure(broker, db, start_relay):
    port = start_relay(upstream=closed_port_settings())
    with pytest.raises(smtplib.SMTPDataError) as error:
        deliver(port, ["bob@elsewhere.example"])
    assert error.value.smtp_code == 451 and b"Connection refused" in error.value.smtp_error
