"""Management tasks that keep storage bounded, against the real database."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.maintenance_tasks import DELIVERED_INBOUND_TTL, purge_delivered_inbound_before
from core.models import InboundMessage

Status = InboundMessage.Status


def row(status: str, age: timedelta) -> InboundMessage:
    created = InboundMessage.objects.create(
        raw=b"x", recipients=["a@x"], size=1, status=status, next_attempt_at=timezone.now()
    )
    InboundMessage.objects.filter(pk=created.pk).update(updated_at=timezone.now() - age)
    return created


def test_only_delivered_intake_rows_past_their_week_are_purged(db):
    old = DELIVERED_INBOUND_TTL + timedelta(hours=1)
    purged = row(Status.DELIVERED, old)
    kept = [
        row(Status.DELIVERED, timedelta(days=1)),
        row(Status.FAILED, old),
        row(Status.PENDING, old),
        row(Status.PROCESSING, old),
    ]
    assert purge_delivered_inbound_before(timezone.now() - DELIVERED_INBOUND_TTL) == 1
    assert not InboundMessage.objects.filter(pk=purged.pk).exists()
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
