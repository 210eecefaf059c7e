"""Mail handed over through ``manage.py deliver`` reaches the mailbox through a real worker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.utils import timezone

from core.mda.inbound_tasks import process_inbound_queue
from core.models import InboundMessage, Mailbox, Message
from tests import mail_samples
from tests.support import PROJECT_DIR, free_port, wait_until

Status = InboundMessage.Status


def deliver(raw: bytes, *recipients: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """What an MTA's pipe transport runs."""
    args = [a for r in recipients for a in ("--to", r)]
    return subprocess.run(
        [sys.executable, "manage.py", "deliver", *args],
        input=raw,
        capture_output=True,
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def delivered(count: int):
    return lambda: InboundMessage.objects.filter(status=Status.DELIVERED).count() >= count


@pytest.fixture
def alice(db, broker):
    return Mailbox.objects.create(address="alice@example.org")


def test_mail_delivered_by_the_command_is_stored_and_threaded_by_the_inbound_worker(alice, workers):
    # Given a worker on the inbound queue only
    worker = workers("--queues=inbound", "-c", "1", "--disable-scheduler")
    worker.wait_ready(1)
    # When the MTA pipes an original, a reply and an unrelated message
    for raw in (
        mail_samples.simple(subject="Lunch", message_id="<a@x>"),
        mail_samples.simple(subject="Re: Lunch", message_id="<b@x>", in_reply_to="<a@x>"),
        mail_samples.simple(subject="Invoice", message_id="<c@x>"),
    ):
        result = deliver(raw, "Alice@Example.org")
        assert result.returncode == 0, result.stderr.decode()
    # Then all three are in Alice's mailbox, the reply in the original's thread
    wait_until(delivered(3), timeout=20, what="three deliveries")
    a, b, c = (Message.objects.get(message_id=i) for i in ("a@x", "b@x", "c@x"))
    assert {a.mailbox_id, b.mailbox_id, c.mailbox_id} == {alice.pk}
    assert a.thread_id == b.thread_id != c.thread_id


def test_intake_with_the_broker_down_succeeds_and_the_sweep_delivers_later(alice, workers):
    # Given the broker unreachable at intake
    result = deliver(
        mail_samples.simple(), "alice@example.org", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"waits for the sweep" in result.stderr
    row = InboundMessage.objects.get()
    assert row.status == Status.PENDING
    # When the grace period has passed and the scheduler's sweep runs on a worker
    InboundMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    worker = workers("--queues=inbound", "-c", "1", "--disable-scheduler")
    worker.wait_ready(1)
    process_inbound_queue.send()
    # Then the message is delivered
    wait_until(delivered(1), timeout=20, what="the swept message delivered")
    assert Message.objects.get().mailbox == alice


@pytest.mark.parametrize(
    ("raw", "recipients", "env", "status", "text"),
    [
        (b"", ["alice@example.org"], {}, 65, "the message is empty"),
        (b"x" * 2048, ["alice@example.org"], {"INBOUND_MAX_SIZE": "1K"}, 65, "larger than the limit of 1024 bytes"),
        (mail_samples.simple(), [], {}, 64, "no recipient"),
        (mail_samples.simple(), ["not-an-address"], {}, 64, "not an address"),
        (mail_samples.simple(), ["alice@example.org"], {"INBOUND_MAX_SIZE": "big"}, 78, "INBOUND_MAX_SIZE"),
        (
            mail_samples.simple(),
            ["alice@example.org"],
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/test"},
            75,
            "cannot store the message now, try again later",
        ),
    ],
    ids=["empty", "oversized", "no-recipient", "bad-address", "bad-limit", "database-down"],
)
def test_refused_intake_exits_with_a_sysexits_status_and_a_clear_message(db, raw, recipients, env, status, text):
    result = deliver(raw, *recipients, env=env)
    stderr = result.stderr.decode()
    assert result.returncode == status, stderr
    assert text in stderr
    assert "Traceback" not in stderr
    assert InboundMessage.objects.count() == 0
