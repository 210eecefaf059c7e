"""The schedule, declared once.

``scheduler.py``, the README's table and the tests all read ``SCHEDULE``,
so a periodic job is added or changed in exactly one place.  A job names
its actor by module and function name and is never imported here: the
scheduler enqueues a message for it and the task runs in a worker
process.  Like ``core.queues``, this module imports nothing from Django
or Dramatiq.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.queues import QUEUE_NAMES

#: An interval longer than this is surely a typo (and overflows date arithmetic long before).
MAX_INTERVAL = 7 * 24 * 3600
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class EnvInterval:
    """An interval in seconds read from an environment variable; 0 turns the job off."""

    variable: str
    default: int


@dataclass(frozen=True)
class ScheduledJob:
    #: Identifies the job in logs and in the claim keys in Redis.
    name: str
    description: str
    #: Seconds between ticks; ticks fall on multiples of it since the Unix epoch.
    every: int | EnvInterval
    #: The actor's module and name: enqueued by name, never imported by the scheduler.
    module: str
    actor_name: str
    queue: str
    #: If set, the tick instant (Unix seconds) is passed to the actor as this keyword argument.
    tick_kwarg: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"scheduled job name {self.name!r} must be lower case letters, digits and _")
        if self.queue not in QUEUE_NAMES:
            valid = ", ".join(QUEUE_NAMES)
            raise ValueError(f"scheduled job {self.name!r}: unknown queue {self.queue!r}; valid queues are: {valid}")
        if isinstance(self.every, int) and not 1 <= self.every <= MAX_INTERVAL:
            raise ValueError(f"scheduled job {self.name!r}: every must be 1 to {MAX_INTERVAL} seconds")

    @property
    def interval(self) -> int:
        """Seconds between ticks, once an ``EnvInterval`` is resolved (``core.runtime.config``)."""
        if not isinstance(self.every, int):
            raise TypeError(f"the interval of {self.name!r} comes from {self.every.variable}: resolve it first")
        return self.every

    @property
    def actor_path(self) -> str:
        return f"{self.module}.{self.actor_name}"


SELFCHECK_INTERVAL = EnvInterval("SELFCHECK_INTERVAL", default=600)

SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        "retry_pending_messages",
        "Retry pending messages",
        every=300,
        module="core.mda.outbound_tasks",
        actor_name="retry_pending_messages",
        queue="outbound",
    ),
    ScheduledJob(
        "system_selfcheck",
        "System selfcheck",
        every=SELFCHECK_INTERVAL,
        module="core.mda.outbound_tasks",
        actor_name="system_selfcheck",
        queue="outbound",
    ),
    ScheduledJob(
        "process_inbound_queue",
        "Process inbound queue",
        every=300,
        module="core.mda.inbound_tasks",
        actor_name="process_inbound_queue",
        queue="inbound",
    ),
    # Not in the seed: Dramatiq's random maintenance used to expire dead
    # letters, and we switched it off (see core/maintenance_tasks.py).
    ScheduledJob(
        "purge_dead_letters",
        "Purge dead letters older than 7 days",
        every=3600,
        module="core.maintenance_tasks",
        actor_name="purge_dead_letters",
        queue="management",
    ),
    ScheduledJob(
        "purge_delivered_inbound",
        "Purge delivered intake rows older than 7 days",
        every=3600,
        module="core.maintenance_tasks",
        actor_name="purge_delivered_inbound",
        queue="management",
    ),
)


def describe_every(every: int | EnvInterval) -> str:
    if isinstance(every, EnvInterval):
        return f"Every `{every.variable}` seconds (default {every.default}; 0 turns it off)"
    if every % 3600 == 0:
        count, unit = every // 3600, "hour"
    elif every % 60 == 0:
        count, unit = every // 60, "minute"
    else:
        count, unit = every, "second"
    return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"


def schedule_table() -> str:
    """The README's schedule table, made from ``SCHEDULE``."""
    rows = ["| Task | Schedule | Queue | Actor |", "|------|----------|-------|-------|"]
    rows += [f"| {j.description} | {describe_every(j.every)} | `{j.queue}` | `{j.actor_path}` |" for j in SCHEDULE]
    return "\n".join(rows)


if __name__ == "__main__":  # python -m core.schedule: print the README table
    print(schedule_table())
