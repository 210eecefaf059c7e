"""Sending outbound mail to a real SMTP server (aiosmtpd on 127.0.0.1), one outcome per recipient."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.mda.outbound import OutboundError, send
from core.mda.outbound_state import MAX_LIFETIME, retry_delay
from core.mda.outbound_tasks import send_message
from core.models import OutboundMessage, OutboundRecipient
from tests.smtp_servers import RunningSmtp, ScriptedSmtp, closed_port_settings
from tests.support import queue_length

Status = OutboundRecipient.Status


def states(row: OutboundMessage) -> dict[str, tuple[str, str]]:
    return {r.address: (r.status, r.last_reply) for r in row.recipients.all()}


def recipient(row: OutboundMessage, address: str) -> OutboundRecipient:
    return row.recipients.get(address=address)


def message(*to: str, **options) -> OutboundMessage:
    return send("Sender <sender@example.org>", list(to), "Hello", "Hello there.\n", **options)


@pytest.mark.parametrize(
    "sender, to, options, named",
    [
        ("sender@example.org", ["bob@"], {}, "to: 'bob@'"),
        ("sender@example.org", ["bob example.org"], {}, "to: 'bob example.org'"),
        ("not an address", ["bob@example.org"], {}, "from: 'not an address'"),
        ("sender@example.org", ["bob@example.org"], {"cc": ["a@b@example.org"]}, "cc: 'a@b@example.org'"),
        ("sender@example.org", ["bob@example.org"], {"bcc": "eve@gmailcom"}, "bcc: 'eve@gmailcom'"),
        ("sender@example.org", [], {}, "to: no recipient"),
        (
            "sender@example.org",
            ["bob@example.org"],
            {"attachments": [("a.txt", "text", b"x")]},
            "attachments: 'text' of",
        ),
    ],
)
def test_invalid_input_is_refused_with_a_clear_error_and_nothing_queued(broker, db, sender, to, options, named):
    with pytest.raises(OutboundError) as error:
        send(sender, to, "Hi", "text", **options)
    assert str(error.value).startswith(named)
    assert OutboundMessage.objects.count() == 0
    assert queue_length(broker, "outbound") == 0


def test_send_stores_the_message_and_queues_it_after_commit(broker, db):
    row = message("bob@example.org", cc=["carol@example.org"], bcc=["BOB@example.org", "dave@example.org"])
    assert queue_length(broker, "outbound") == 1
    assert sorted(states(row)) == ["bob@example.org", "carol@example.org", "dave@example.org"]
    assert {s for s, _ in states(row).values()} == {Status.PENDING}
    assert b"dave@example.org" not in bytes(row.raw)  # Bcc stays out of the headers


def test_a_broker_that_is_down_leaves_the_rows_pending_for_the_sweep(broker, db, monkeypatch):
    import redis

    from core.mda.outbound_tasks import sweep_outbound
    from tests.support import free_port

    dead = redis.ConnectionPool(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    with monkeypatch.context() as m:
        m.setattr(broker.client, "connection_pool", dead)
        row = message("bob@example.org")
    assert queue_length(broker, "outbound") == 0
    assert states(row) == {"bob@example.org": (Status.PENDING, "")}
    assert sweep_outbound(timezone.now() + timedelta(minutes=2)) == 1
    assert queue_length(broker, "outbound") == 1


def test_250_is_sent_once_even_when_the_actor_runs_again(db, broker, smtp_server):
    row = message("bob@example.org")
    now = timezone.now()
    assert send_message(row.pk, "run-1", now, smtp_server.settings) == {"sent": 1, "retry": 0, "failed": 0}
    assert send_message(row.pk, "run-2", now + timedelta(days=1), smtp_server.settings) == {}
    assert smtp_server.handler.delivered_to("bob@example.org") == 1
    assert recipient(row, "bob@example.org").status == Status.SENT
    content = smtp_server.handler.received[0].content
    assert b"Subject: Hello" in content and b"Message-ID: <" + row.message_id.encode() + b">" in content


def test_a_relay_that_is_down_means_retry_and_nothing_lost(db, broker, smtp_server):
    row = message("bob@example.org")
    now = timezone.now()
    send_message(row.pk, "run-1", now, closed_port_settings())
    bob = recipient(row, "bob@example.org")
    assert bob.status == Status.RETRY and bob.attempts == 1
    assert "cannot use the relay" in bob.last_reply and "Connection refused" in bob.last_reply
    assert bob.next_attempt_at == now + retry_delay(1)
    # Not due yet: nothing is tried.
    assert send_message(row.pk, "run-2", now + timedelta(minutes=1), smtp_server.settings) == {}
    assert send_message(row.pk, "run-3", bob.next_attempt_at, smtp_server.settings)["sent"] == 1
    assert smtp_server.handler.delivered_to("bob@example.org") == 1


def test_452_then_250_is_sent_exactly_once(db, broker, smtp_server):
    smtp_server.handler.rcpt["bob@example.org"] = ["452 4.2.2 Mailbox full", "250 OK"]
    row = message("bob@example.org")
    now = timezone.now()
    send_message(row.pk, "run-1", now, smtp_server.settings)
    assert states(row) == {"bob@example.org": (Status.RETRY, "452 4.2.2 Mailbox full")}
    later = now + retry_delay(1)
    send_message(row.pk, "run-2", later, smtp_server.settings)
    send_message(row.pk, "run-3", later + timedelta(hours=1), smtp_server.settings)
    assert recipient(row, "bob@example.org").status == Status.SENT
    assert recipient(row, "bob@example.org").attempts == 2
    assert smtp_server.handler.delivered_to("bob@example.org") == 1


def test_550_fails_at_once_keeping_the_reply(db, broker, smtp_server):
    smtp_server.handler.rcpt["gone@example.org"] = ["550 5.1.1 No such user here"]
    row = message("gone@example.org")
    send_message(row.pk, "run-1", timezone.now(), smtp_server.settings)
    assert states(row) == {"gone@example.org": (Status.FAILED, "550 5.1.1 No such user here")}
    assert send_message(row.pk, "run-2", timezone.now() + timedelta(days=1), smtp_server.settings) == {}


def test_each_recipient_of_one_message_gets_its_own_outcome(db, broker, smtp_server):
    smtp_server.handler.rcpt.update(
        {"full@example.org": ["452 4.2.2 Mailbox full", "250 OK"], "gone@example.org": ["550 5.1.1 No such user"]}
    )
    row = message("ok@example.org", "full@example.org", "gone@example.org")
    now = timezone.now()
    assert send_message(row.pk, "run-1", now, smtp_server.settings) == {"sent": 1, "retry": 1, "failed": 1}
    assert states(row) == {
        "ok@example.org": (Status.SENT, "250 OK"),
        "full@example.org": (Status.RETRY, "452 4.2.2 Mailbox full"),
        "gone@example.org": (Status.FAILED, "550 5.1.1 No such user"),
    }
    send_message(row.pk, "run-2", now + retry_delay(1), smtp_server.settings)
    # The retry went to the 452 recipient alone.
    assert smtp_server.handler.received[-1].recipients == ["full@example.org"]
    assert [smtp_server.handler.delivered_to(a) for a in ("ok@example.org", "full@example.org")] == [1, 1]


def test_a_connection_dropped_after_data_is_retried(db, broker, smtp_server):
    smtp_server.handler.data = ["drop"]
    row = message("bob@example.org")
    now = timezone.now()
    send_message(row.pk, "run-1", now, smtp_server.settings)
    bob = recipient(row, "bob@example.org")
    assert bob.status == Status.RETRY and "lost" in bob.last_reply
    send_message(row.pk, "run-2", bob.next_attempt_at, smtp_server.settings)
    assert recipient(row, "bob@example.org").status == Status.SENT
    # The relay had read it the first time: the duplicate the README warns about.
    assert len(smtp_server.handler.dropped) == 1 and smtp_server.handler.delivered_to("bob@example.org") == 1


def test_a_4xx_data_reply_retries_and_a_5xx_data_reply_fails_the_accepted_recipients(db, broker, smtp_server):
    smtp_server.handler.data = ["451 4.3.0 Try later", "554 5.6.0 Message rejected"]
    smtp_server.handler.rcpt["gone@example.org"] = ["550 5.1.1 No such user"]
    row = message("bob@example.org", "gone@example.org")
    now = timezone.now()
    send_message(row.pk, "run-1", now, smtp_server.settings)
    assert states(row)["bob@example.org"] == (Status.RETRY, "451 4.3.0 Try later")
    assert states(row)["gone@example.org"] == (Status.FAILED, "550 5.1.1 No such user")
    send_message(row.pk, "run-2", now + retry_delay(1), smtp_server.settings)
    assert states(row)["bob@example.org"] == (Status.FAILED, "554 5.6.0 Message rejected")


def test_a_recipient_still_deferred_after_two_days_is_failed(db, broker, smtp_server):
    smtp_server.handler.rcpt["full@example.org"] = ["452 4.2.2 Mailbox full"]
    row = message("full@example.org")
    send_message(row.pk, "run-1", row.created_at + MAX_LIFETIME - timedelta(minutes=1), smtp_server.settings)
    status, reply = states(row)["full@example.org"]
    assert status == Status.FAILED
    assert reply == "gave up after 1 attempts over 2 days; last: 452 4.2.2 Mailbox full"


def test_one_send_per_message_at_a_time_and_a_dead_workers_claim_lapses(db, broker, smtp_server):
    from core.mda import outbound_state

    row = message("bob@example.org")
    now = timezone.now()
    assert outbound_state.claim(row.pk, "worker-that-dies", now) is not None
    assert send_message(row.pk, "another-run", now, smtp_server.settings) is None
    assert smtp_server.handler.received == []
    # The same Dramatiq message, redelivered, takes its claim back at once.
    assert outbound_state.claim(row.pk, "worker-that-dies", now) is not None
    lapsed = now + outbound_state.CLAIM_LEASE + timedelta(seconds=1)
    assert send_message(row.pk, "another-run", lapsed, smtp_server.settings)["sent"] == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd on implicit TLS
def test_encrypted_relays_with_a_login(db, broker, monkeypatch, security):
    from tests.smtp_servers import CERT

    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))  # trust the test certificate
    server = RunningSmtp(ScriptedSmtp(), security=security, user="worker", password="s3cret")
    try:
        row = message("bob@example.org")
        assert send_message(row.pk, "run-1", timezone.now(), server.settings)["sent"] == 1
        wrong = type(server.settings)(**{**vars(server.settings), "password": "wrong"})
        row = message("carol@example.org")
        send_message(row.pk, "run-1", timezone.now(), wrong)
        assert states(row)["carol@example.org"][0] == Status.RETRY  # our configuration, not the recipient's fault
        assert "535" in states(row)["carol@example.org"][1]
    finally:
        server.stop()
