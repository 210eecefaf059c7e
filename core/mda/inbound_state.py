"""The life of an ``InboundMessage`` row: claimed, delivered, retried, failed.

Every transition is a conditional UPDATE, so two workers (a duplicate
enqueue, a sweep racing a slow worker) never process one row at once, on
PostgreSQL and on SQLite alike.  Functions take ``now``: the rules are
tested without waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, Q

from core.mda.inbound import SWEEP_GRACE
from core.models import InboundMessage

Status = InboundMessage.Status

#: A row is failed after this many processing attempts (about 3 h of back-off).
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = timedelta(hours=1)
#: A row "processing" for longer than this lost its worker (tasks are cut at 5 min).
STALE_AFTER = timedelta(minutes=10)
SWEEP_BATCH = 500


def gave_up(attempts: int, error: str) -> str:
    return f"gave up after {attempts} attempts: {error}"


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    return min(MAX_RETRY_DELAY, SWEEP_GRACE * 2 ** max(0, attempts - 1))


def _claimable(claimant: str, now: datetime) -> Q:
    return (
        Q(status=Status.PENDING)
        # The same Dramatiq message, redelivered after its worker died.
        | Q(status=Status.PROCESSING, claimed_by=claimant)
        | Q(status=Status.PROCESSING, updated_at__lt=now - STALE_AFTER)
    )


def claim(inbound_id: int, claimant: str, now: datetime) -> InboundMessage | None:
    """Take the row for processing, or None if it is done, failed or busy elsewhere."""
    taken = InboundMessage.objects.filter(_claimable(claimant, now), pk=inbound_id, attempts__lt=MAX_ATTEMPTS).update(
        status=Status.PROCESSING, claimed_by=claimant, attempts=F("attempts") + 1, updated_at=now
    )
    return InboundMessage.objects.get(pk=inbound_id) if taken else None


def finish(row: InboundMessage, status: str, error: str, now: datetime) -> None:
    InboundMessage.objects.filter(pk=row.pk, claimed_by=row.claimed_by).update(
        status=status, last_error=error[:2000], updated_at=now
    )


def give_back(row: InboundMessage, error: str, now: datetime) -> str:
    """After a failed attempt: pending again with a back-off, or failed once attempts run out."""
    if row.attempts >= MAX_ATTEMPTS:
        status, error = Status.FAILED, gave_up(row.attempts, error)
    else:
        status = Status.PENDING
    InboundMessage.objects.filter(pk=row.pk, claimed_by=row.claimed_by).update(
        status=status, last_error=error[:2000], updated_at=now, next_attempt_at=now + retry_delay(row.attempts)
    )
    return status


def due_for_sweep(now: datetime, limit: int = SWEEP_BATCH) -> list[InboundMessage]:
    """Rows the broker may have lost: pending past their next attempt, or stuck processing."""
    due = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.PROCESSING, updated_at__lt=now - STALE_AFTER
    )
    return list(InboundMessage.objects.filter(due).defer("raw").order_by("next_attempt_at")[:limit])


def schedule_retry(row: InboundMessage, now: datetime) -> bool:
    """Push the row's next sweep back before enqueueing it again; False if it changed meanwhile."""
    return bool(
        InboundMessage.objects.filter(pk=row.pk, status=row.status, updated_at=row.updated_at).update(
            next_attempt_at=now + retry_delay(row.attempts + 1)
        )
    )


def fail_exhausted(row: InboundMessage, now: datetime) -> bool:
    reason = gave_up(row.attempts, row.last_error or "its worker never finished")
    return bool(
        InboundMessage.objects.filter(pk=row.pk, status=row.status, updated_at=row.updated_at).update(
            status=Status.FAILED, last_error=reason[:2000], updated_at=now
        )
    )
