"""When a scheduled job fires: pure functions of ``now`` (Unix seconds).

Every scheduler of the fleet must agree on the instants a job fires at,
whenever each of them started, so ticks are not "every N seconds from my
start" but the multiples of the interval since the Unix epoch (UTC): a
5-minute job fires at :00, :05, :10...  Schedulers then race to claim
each instant (``core.runtime.tick_claim``) and exactly one enqueues it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A tick may fire this late at most.  APScheduler's default (1 s) drops
#: ticks on a busy host; much longer would fire a tick so late that the
#: next one follows right behind it.
MAX_GRACE = 60.0
#: Claims outlive any scheduler that could still fire the tick: the grace
#: time plus clocks up to this far apart between hosts.
CLOCK_SKEW_ALLOWANCE = 600
#: Redis errors are retried after these delays (the last one repeating)
#: until the grace time runs out.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


def tick_at(now: float, interval: int) -> int:
    """The latest tick instant at or before ``now``."""
    return math.floor(now / interval) * interval


def next_tick(now: float, interval: int) -> int:
    """The first tick instant after ``now``."""
    return tick_at(now, interval) + interval


def grace_time(interval: int) -> float:
    """How late a tick may still fire: half the interval, at most a minute.

    Less than the interval, so at most one tick is ever due: after a pause
    (a suspended host, a stalled process) a job fires once, for the latest
    tick, never once per missed tick.
    """
    return min(interval / 2, MAX_GRACE)


def tick_due(now: float, interval: int) -> int | None:
    """The tick to fire at ``now``: the latest one, unless it is past its grace time."""
    tick = tick_at(now, interval)
    return tick if now - tick <= grace_time(interval) else None


def claim_ttl(interval: int) -> int:
    """Seconds a claim on a tick is kept: well past the last moment any scheduler could fire it."""
    return math.ceil(interval + grace_time(interval)) + CLOCK_SKEW_ALLOWANCE


def retry_delay(attempt: int, tick: int, interval: int, now: float) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...), or None when the grace time is over."""
    remaining = tick + grace_time(interval) - now
    if remaining <= 0:
        return None
    return min(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1], remaining)


def as_datetime(instant: float) -> datetime:
    return datetime.fromtimestamp(instant, tz=UTC)


def describe_tick(tick: int) -> str:
    """A tick for logs: ISO 8601 in UTC."""
    return as_datetime(tick).strftime("%Y-%m-%dT%H:%M:%SZ")
