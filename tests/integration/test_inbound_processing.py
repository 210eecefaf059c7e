"""Inbound processing against the real database and broker: each input ends stored or failed with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.mda import inbound_state
from core.mda.inbound import receive
from core.mda.inbound_tasks import process_inbound_message, sweep_inbound
from core.models import InboundMessage, Mailbox, Message, Thread
from tests import mail_samples
from tests.support import queue_length

pytestmark = pytest.mark.usefixtures("db")
Status = InboundMessage.Status


@pytest.fixture
def alice(db, broker):
    return Mailbox.objects.create(address="alice@example.org")


def deliver_now(raw: bytes, *recipients: str) -> InboundMessage:
    """Intake, then the processing a worker would do, in this process."""
    row = receive(raw, list(recipients or ["alice@example.org"]))
    process_inbound_message(row.pk, claimant=f"test-{row.pk}")
    row.refresh_from_db()
    return row


def test_intake_stores_the_row_pending_and_enqueues_its_processing(alice, broker):
    row = receive(mail_samples.simple(), ["alice@example.org"])
    assert (row.status, row.attempts, row.size) == (Status.PENDING, 0, len(mail_samples.simple()))
    assert queue_length(broker, "inbound") == 1


def test_a_message_is_stored_with_its_fields_in_the_recipients_mailbox(alice):
    raw = mail_samples.with_attachment()
    row = deliver_now(raw)
    message = Message.objects.get()
    assert row.status == Status.DELIVERED
    assert (message.mailbox, message.subject, message.sender) == (alice, "Report", "bob@example.org")
    assert message.snippet == "See attached."
    assert message.attachments == [{"name": "report.pdf", "type": "application/pdf", "size": 1300}]
    assert bytes(message.raw) == raw
    assert message.inbound == row


def test_a_recipient_address_in_odd_case_reaches_its_mailbox(alice):
    row = deliver_now(mail_samples.simple(), "ALICE@Example.ORG")
    assert row.status == Status.DELIVERED
    assert Message.objects.get().mailbox == alice


def test_one_message_per_recipient_mailbox(alice):
    bob = Mailbox.objects.create(address="bob@example.org")
    deliver_now(mail_samples.simple(), "alice@example.org", "bob@example.org")
    assert sorted(m.mailbox_id for m in Message.objects.all()) == sorted([alice.pk, bob.pk])


def test_processing_the_same_row_twice_stores_it_once(alice):
    row = deliver_now(mail_samples.simple())
    assert process_inbound_message(row.pk, claimant="another-message") == "skipped"
    assert Message.objects.count() == 1


def test_the_same_message_delivered_twice_is_stored_once(alice):
    first = deliver_now(mail_samples.simple())
    second = deliver_now(mail_samples.simple())
    assert (first.status, second.status) == (Status.DELIVERED, Status.DELIVERED)
    assert Message.objects.count() == 1


def test_a_reply_joins_the_thread_of_the_message_it_references(alice):
    deliver_now(mail_samples.simple(subject="Lunch", message_id="<a@x>"))
    deliver_now(mail_samples.simple(subject="Something else", message_id="<b@x>", in_reply_to="<a@x>"))
    deliver_now(mail_samples.simple(subject="Unrelated", message_id="<c@x>"))
    a, b, c = (Message.objects.get(message_id=i) for i in ("a@x", "b@x", "c@x"))
    assert a.thread == b.thread != c.thread


def test_without_references_a_reply_joins_the_thread_of_the_same_subject(alice):
    deliver_now(mail_samples.simple(subject="Lunch", message_id="<a@x>"))
    deliver_now(mail_samples.simple(subject="Re: lunch", message_id="<b@x>"))
    assert Thread.objects.count() == 1
    assert Thread.objects.get().messages.count() == 2


def test_a_recipient_without_mailbox_fails_with_a_reason_and_is_kept(alice):
    row = deliver_now(mail_samples.simple(), "nobody@example.org")
    assert (row.status, row.last_error) == (Status.FAILED, "no such mailbox: nobody@example.org")
    assert bytes(row.raw) == mail_samples.simple()


def test_known_recipients_get_the_message_and_the_unknown_one_is_noted(alice):
    row = deliver_now(mail_samples.simple(), "alice@example.org", "nobody@example.org")
    assert (row.status, row.last_error) == (Status.DELIVERED, "no such mailbox: nobody@example.org")
    assert Message.objects.count() == 1


def test_binary_garbage_fails_with_a_reason_and_is_kept(alice):
    row = deliver_now(mail_samples.BINARY_GARBAGE)
    assert (row.status, row.last_error) == (Status.FAILED, "not a mail message: no header could be read")
    assert bytes(row.raw) == mail_samples.BINARY_GARBAGE


@pytest.mark.parametrize(
    "raw",
    [
        mail_samples.HEADERS_ONLY,
        mail_samples.NO_MESSAGE_ID,
        mail_samples.RAW_8BIT_HEADERS,
        mail_samples.BROKEN_BOUNDARY,
        mail_samples.NESTED_RFC822,
        mail_samples.UNKNOWN_CHARSET,
        mail_samples.many_addresses(5000),
        mail_samples.simple(body="nul \x00 byte"),
    ],
    ids=["headers-only", "no-message-id", "8bit-headers", "broken-boundary", "nested", "charset", "5000-to", "nul"],
)
def test_malformed_but_readable_mail_is_stored(alice, raw):
    row = deliver_now(raw)
    assert (row.status, row.last_error) == (Status.DELIVERED, "")
    assert Message.objects.count() == 1


def test_a_failing_attempt_goes_back_to_pending_with_a_backoff_then_fails_for_good(alice, monkeypatch):
    # Given a message whose processing raises every time (a bug, a database hiccup)
    def broken(row):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("core.mda.inbound_tasks.prepare", broken)
    row = receive(mail_samples.simple(), ["alice@example.org"])
    delays = []
    for attempt in range(1, inbound_state.MAX_ATTEMPTS + 1):
        before = timezone.now()
        status = process_inbound_message(row.pk, claimant=f"attempt-{attempt}")
        row.refresh_from_db()
        delays.append(row.next_attempt_at - before)
        assert row.attempts == attempt
    # Then each pending attempt waited longer than the last, and the last one gave up with the reason
    assert status == Status.FAILED
    assert row.last_error == f"gave up after {inbound_state.MAX_ATTEMPTS} attempts: RuntimeError: disk on fire"
    assert delays[:-1] == sorted(delays[:-1])
    assert delays[0] >= timedelta(seconds=59)
    assert process_inbound_message(row.pk, claimant="one-more") == "skipped"


def test_the_same_dramatiq_message_redelivered_after_a_crash_takes_its_row_over(alice):
    row = receive(mail_samples.simple(), ["alice@example.org"])
    inbound_state.claim(row.pk, "msg-1", timezone.now())  # its worker was killed here
    assert process_inbound_message(row.pk, claimant="msg-2") == "skipped"  # a duplicate enqueue waits
    assert process_inbound_message(row.pk, claimant="msg-1") == Status.DELIVERED


def test_the_sweep_enqueues_pending_rows_past_their_grace_period_only(alice, broker):
    fresh = InboundMessage.objects.create(raw=b"x", recipients=["a@x"], size=1, next_attempt_at=timezone.now())
    InboundMessage.objects.filter(pk=fresh.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=60))
    lost = InboundMessage.objects.create(raw=b"x", recipients=["a@x"], size=1, next_attempt_at=timezone.now())
    assert sweep_inbound(timezone.now()) == {"enqueued": 1, "failed": 0}
    assert queue_length(broker, "inbound") == 1
    lost.refresh_from_db()
    # Not again at the next sweep: it waits for its back-off.
    assert lost.next_attempt_at > timezone.now()
    assert sweep_inbound(timezone.now()) == {"enqueued": 0, "failed": 0}


def test_the_sweep_fails_rows_out_of_attempts_and_never_deletes_them(alice, broker):
    row = InboundMessage.objects.create(
        raw=b"x", recipients=["a@x"], size=1, next_attempt_at=timezone.now(), attempts=inbound_state.MAX_ATTEMPTS
    )
    assert sweep_inbound(timezone.now()) == {"enqueued": 0, "failed": 1}
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.last_error.startswith(f"gave up after {inbound_state.MAX_ATTEMPTS} attempts")


def test_the_sweep_takes_back_a_row_stuck_processing_since_its_worker_died(alice, broker):
    row = receive(mail_samples.simple(), ["alice@example.org"])
    long_ago = timezone.now() - inbound_state.STALE_AFTER - timedelta(seconds=1)
    inbound_state.claim(row.pk, "dead-worker-message", long_ago)
    assert sweep_inbound(timezone.now())["enqueued"] == 1
    assert process_inbound_message(row.pk, claimant="sweep-message") == Status.DELIVERED
