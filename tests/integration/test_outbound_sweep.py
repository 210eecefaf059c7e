"""The retry sweep enqueues messages with recipients due, in bounded batches, each once."""

from datetime import timedelta

from django.utils import timezone

from core.mda import outbound_state
from core.mda.outbound import send
from core.mda.outbound_tasks import send_message, sweep_outbound
from core.models import OutboundRecipient
from tests.smtp_servers import closed_port_settings
from tests.support import queue_length

Status = OutboundRecipient.Status


def queued_ids(broker) -> list[int]:
    import json

    key = f"{broker.namespace}:outbound"
    bodies = broker.client.hmget(f"{key}.msgs", broker.client.lrange(key, 0, -1))
    return sorted(json.loads(b)["args"][0] for b in bodies)


def drain(broker) -> None:
    broker.client.delete(f"{broker.namespace}:outbound", f"{broker.namespace}:outbound.msgs")


def test_only_messages_with_recipients_due_are_enqueued(broker, db):
    now = timezone.now()
    fresh = send("s@example.org", "a@example.org", "fresh")
    deferred = send("s@example.org", "b@example.org", "deferred")
    send_message(deferred.pk, "run-1", now, closed_port_settings())  # now "retry", due in 5 minutes
    drain(broker)

    assert sweep_outbound(now) == 0  # the fresh one is in the queue already; the other is not due
    assert sweep_outbound(now + timedelta(minutes=2)) == 1
    assert queued_ids(broker) == [fresh.pk]
    drain(broker)
    assert sweep_outbound(now + outbound_state.retry_delay(1)) == 1
    assert queued_ids(broker) == [deferred.pk]


def test_a_message_enqueued_by_the_sweep_is_not_enqueued_again_until_it_ran_or_15_minutes_passed(broker, db):
    row = send("s@example.org", "a@example.org", "x")
    drain(broker)
    later = timezone.now() + timedelta(minutes=2)
    assert sweep_outbound(later) == 1
    assert sweep_outbound(later + timedelta(minutes=5)) == 0
    assert sweep_outbound(later + outbound_state.RESWEEP_AFTER + timedelta(seconds=1)) == 1
    assert queued_ids(broker) == [row.pk, row.pk]


def test_a_message_held_by_a_send_is_left_alone_until_its_claim_lapses(broker, db):
    row = send("s@example.org", "a@example.org", "x")
    drain(broker)
    later = timezone.now() + timedelta(minutes=2)
    outbound_state.claim(row.pk, "stuck-worker", later)
    assert sweep_outbound(later) == 0
    assert sweep_outbound(later + outbound_state.CLAIM_LEASE + timedelta(seconds=1)) == 1


def test_the_sweep_works_in_bounded_batches(broker, db):
    rows = [send("s@example.org", f"r{i}@example.org", "x") for i in range(7)]
    drain(broker)
    later = timezone.now() + timedelta(minutes=2)
    assert sweep_outbound(later, batch=3, max_batches=2) == 6
    assert sweep_outbound(later, batch=3, max_batches=2) == 1
    assert queued_ids(broker) == sorted(r.pk for r in rows)
    assert queue_length(broker, "outbound") == 7
