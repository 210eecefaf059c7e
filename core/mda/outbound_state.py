"""The life of an outbound message's rows: claimed, sent, retried, failed, swept.

Every transition is a conditional UPDATE, so two runs of the send actor (a
duplicate enqueue, a sweep racing a slow worker) never send one message at
once, and a sent recipient is never sent again, on PostgreSQL and SQLite
alike (``SELECT ... FOR UPDATE`` is a no-op on SQLite).  Functions take
``now``: the rules are tested without waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from core.mda.smtp_client import Reply
from core.models import OutboundMessage, OutboundRecipient

Status = OutboundRecipient.Status
OPEN = (Status.PENDING, Status.RETRY)

FIRST_RETRY_DELAY = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=6)
#: A recipient the relay has not accepted this long after the message was
#: queued is failed (Postfix keeps mail 5 days; two is enough to ride out an outage).
MAX_LIFETIME = timedelta(days=2)
#: Longer than the send actor's 5-minute time limit: a claim lapses only
#: when its worker is gone.
CLAIM_LEASE = timedelta(minutes=10)
#: After enqueueing a message the sweep leaves it alone this long.
RESWEEP_AFTER = timedelta(minutes=15)


def retry_delay(failed_attempts: int) -> timedelta:
    """5, 10, 20, 40 … minutes after each failed attempt, at most 6 hours."""
    return min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** max(0, failed_attempts - 1))


def _free(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}claimed_until__isnull": True}) | Q(**{f"{prefix}claimed_until__lt": now})


def claim(outbound_id: int, claimant: str, now: datetime) -> OutboundMessage | None:
    """Hold the message for one send, or None if another run holds it (or it is gone)."""
    # The same Dramatiq message, redelivered after its worker died, takes its claim back at once.
    taken = OutboundMessage.objects.filter(_free(now) | Q(claimed_by=claimant), pk=outbound_id).update(
        claimed_by=claimant, claimed_until=now + CLAIM_LEASE
    )
    return OutboundMessage.objects.get(pk=outbound_id) if taken else None


def release(message: OutboundMessage) -> None:
    """Give the claim up; the sweep may enqueue the message again as soon as something is due."""
    OutboundMessage.objects.filter(pk=message.pk, claimed_by=message.claimed_by).update(
        claimed_by="", claimed_until=None, next_sweep_at=None
    )


def due_recipients(message: OutboundMessage, now: datetime) -> list[OutboundRecipient]:
    due = Q(status=Status.PENDING) | Q(status=Status.RETRY, next_attempt_at__lte=now)
    return list(message.recipients.filter(due).order_by("pk"))


def outcome(message: OutboundMessage, recipient: OutboundRecipient, reply: Reply, now: datetime) -> dict:
    """The row's new fields after ``reply``."""
    attempts = recipient.attempts + 1
    fields = {"attempts": attempts, "last_reply": str(reply)[:2000], "updated_at": now}
    if reply.accepted:
        return {**fields, "status": Status.SENT, "sent_at": now}
    if reply.permanent:
        return {**fields, "status": Status.FAILED}
    next_attempt = now + retry_delay(attempts)
    if next_attempt > message.created_at + MAX_LIFETIME:
        reason = f"gave up after {attempts} attempts over {MAX_LIFETIME.days} days; last: {reply}"
        return {**fields, "status": Status.FAILED, "last_reply": reason[:2000]}
    return {**fields, "status": Status.RETRY, "next_attempt_at": next_attempt}


def record(message: OutboundMessage, recipients: list[OutboundRecipient], replies: dict[str, Reply], now) -> dict:
    """Store each recipient's outcome; how many were sent, are to be retried, failed."""
    counts = dict.fromkeys((Status.SENT, Status.RETRY, Status.FAILED), 0)
    for recipient in recipients:
        fields = outcome(message, recipient, replies[recipient.address], now)
        # Only an open row changes: whatever happened, "sent" stays sent.
        if OutboundRecipient.objects.filter(pk=recipient.pk, status__in=OPEN).update(**fields):
            counts[fields["status"]] += 1
    return counts


def due_message_ids(now: datetime, limit: int) -> list[int]:
    """Messages with a recipient due, not held by a send, not recently enqueued by the sweep."""
    due = OutboundRecipient.objects.filter(
        _free(now, "message__"),
        Q(message__next_sweep_at__isnull=True) | Q(message__next_sweep_at__lte=now),
        status__in=OPEN,
        next_attempt_at__lte=now,
    )
    return list(due.values_list("message_id", flat=True).distinct().order_by("message_id")[:limit])


def mark_swept(outbound_id: int, now: datetime) -> bool:
    """Note the sweep enqueues it now; False if another sweep just did."""
    return bool(
        OutboundMessage.objects.filter(
            Q(next_sweep_at__isnull=True) | Q(next_sweep_at__lte=now), pk=outbound_id
        ).update(next_sweep_at=now + RESWEEP_AFTER)
    )


def unmark_swept(outbound_id: int) -> None:
    OutboundMessage.objects.filter(pk=outbound_id).update(next_sweep_at=None)
