"""Management tasks: they name the ``management`` queue explicitly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.utils import timezone

from broker import broker
from core.queues import QUEUE_NAMES
from core.tasks import actor

#: Dead-lettered messages are kept this long for inspection (as in Dramatiq).
DEAD_LETTER_TTL_MS = 7 * 24 * 3600 * 1000
_BATCH = 500


def purge_dead_letters_older_than(cutoff_ms: int) -> int:
    """Delete dead-lettered messages that died before ``cutoff_ms``; how many."""
    client, ns = broker.client, broker.namespace
    removed = 0
    for queue in QUEUE_NAMES:
        xq = f"{ns}:{queue}.XQ"
        while ids := client.zrangebyscore(xq, 0, cutoff_ms, start=0, num=_BATCH):
            pipe = client.pipeline()
            pipe.zrem(xq, *ids)
            pipe.hdel(f"{xq}.msgs", *ids)
            pipe.execute()
            removed += len(ids)
    return removed


@actor(queue_name="management", time_limit=60_000)
def purge_dead_letters() -> None:
    """Dramatiq's random maintenance used to expire dead letters; we switched it off."""
    purge_dead_letters_older_than(int(time.time() * 1000) - DEAD_LETTER_TTL_MS)


#: Delivered intake rows are kept this long for inspection; their messages keep the raw bytes.
DELIVERED_INBOUND_TTL = timedelta(days=7)
_DELETE_BATCH = 1000


def purge_delivered_inbound_before(cutoff: datetime) -> int:
    """Delete intake rows delivered before ``cutoff``, in batches; how many.

    Pending, processing and failed rows are never touched: only an operator deletes those.
    """
    from core.models import InboundMessage

    removed = 0
    delivered = InboundMessage.objects.filter(status=InboundMessage.Status.DELIVERED, updated_at__lt=cutoff)
    while ids := list(delivered.values_list("pk", flat=True)[:_DELETE_BATCH]):
        InboundMessage.objects.filter(pk__in=ids, status=InboundMessage.Status.DELIVERED).delete()
        removed += len(ids)
    return removed


@actor(queue_name="management", time_limit=5 * 60_000)
def purge_delivered_inbound() -> None:
    """The intake table would otherwise grow with every message ever received."""
    purge_delivered_inbound_before(timezone.now() - DELIVERED_INBOUND_TTL)
