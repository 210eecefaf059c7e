"""Management tasks: they name the ``management`` queue explicitly."""

from __future__ import annotations

import time

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
def purge_dead_letters() -> int:
    """Dramatiq's random maintenance used to expire dead letters; we switched it off."""
    return purge_dead_letters_older_than(int(time.time() * 1000) - DEAD_LETTER_TTL_MS)
