"""The scheduler process's jobs: APScheduler wakes us at each tick, we claim and enqueue it.

APScheduler (3.11) is the timer: an ``IntervalTrigger`` started at the
Unix epoch fires at the aligned tick instants of ``core.runtime.ticks``.
Whether a tick is still worth firing is decided here, by
``ticks.tick_due`` with our grace time, not by APScheduler's
``misfire_grace_time``, which counts whole seconds (a 1-second test job
needs half a second) and reads the clock itself.  ``coalesce`` makes a
stalled scheduler fire once for the latest tick, not once per tick missed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC

import redis
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.runtime.embedded_redis import EmbeddedRedisError
from core.runtime.tick_claim import TickClaimer
from core.runtime.ticks import EPOCH, as_datetime, describe_tick, next_tick, retry_delay, tick_at, tick_due
from core.schedule import ScheduledJob

logger = logging.getLogger("worker.scheduler")

ENQUEUED = "schedule_tick_enqueued"
ALREADY_CLAIMED = "schedule_tick_already_claimed"
RETRYING = "schedule_tick_retrying"
MISSED = "schedule_tick_missed"
#: Errors that mean "Redis is not there right now": retried within the grace time.
REDIS_DOWN = (redis.RedisError, EmbeddedRedisError, OSError)


def _log(level: int, text: str, job: ScheduledJob, tick: int, action: str, **more) -> None:
    fields = {"action": action, "job": job.name, "tick": describe_tick(tick), "queue": job.queue, **more}
    pairs = " ".join(f"{k}={v}" for k, v in fields.items() if k != "action")
    logger.log(level, "%s: %s", text, pairs, extra=fields)


def fire(
    claimer: TickClaimer,
    job: ScheduledJob,
    tick: int,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], bool | None] = time.sleep,
) -> str:
    """Claim ``tick`` and enqueue its message, retrying while Redis is away; the outcome's action.

    ``sleep`` returns true when the scheduler is stopping (``Event.wait``).
    """
    attempt = 0
    while True:
        try:
            message = claimer.claim(job, tick, clock())
        except REDIS_DOWN as error:
            attempt += 1
            delay = retry_delay(attempt, tick, job.interval, clock())
            reason = f"{type(error).__name__}: {error}"
            if delay is None:
                _log(logging.ERROR, "schedule tick missed", job, tick, MISSED, attempts=attempt, error=reason)
                return MISSED
            level = logging.WARNING if attempt == 1 else logging.DEBUG
            _log(level, "schedule tick not enqueued yet", job, tick, RETRYING, attempts=attempt, error=reason)
            if sleep(delay):
                _log(logging.WARNING, "schedule tick missed", job, tick, MISSED, error="the scheduler is stopping")
                return MISSED
            continue
        if message is None:
            _log(logging.DEBUG, "schedule tick already claimed", job, tick, ALREADY_CLAIMED)
            return ALREADY_CLAIMED
        _log(logging.INFO, "schedule tick enqueued", job, tick, ENQUEUED, message_id=message.message_id)
        return ENQUEUED


def run_job(
    claimer: TickClaimer,
    job: ScheduledJob,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], bool | None] = time.sleep,
) -> str:
    """What APScheduler calls at each tick: fire the due tick, or log it missed if woken too late."""
    now = clock()
    tick = tick_due(now, job.interval)
    if tick is None:
        late = f"woke {now - tick_at(now, job.interval):.1f}s after the tick, past its grace time"
        _log(logging.ERROR, "schedule tick missed", job, tick_at(now, job.interval), MISSED, error=late)
        return MISSED
    try:
        return fire(claimer, job, tick, clock, sleep)
    except Exception as error:  # a bug: logged with its traceback; the scheduler keeps going
        fields = {"action": MISSED, "job": job.name, "tick": describe_tick(tick), "error": repr(error)}
        logger.exception("schedule tick missed: job=%s tick=%s", job.name, fields["tick"], extra=fields)
        return MISSED


def first_run(now: float, interval: int) -> float:
    """When a scheduler starting at ``now`` first fires: at once if a tick is still due, else at the next one.

    So a restart that spans a tick instant (a deploy) does not lose it; the
    claim keeps a tick already enqueued by anyone from being enqueued again.
    """
    due = tick_due(now, interval)
    return due if due is not None else next_tick(now, interval)


def trigger(job: ScheduledJob) -> IntervalTrigger:
    """Fires on the multiples of the interval since the epoch, like ``ticks.tick_at``."""
    return IntervalTrigger(seconds=job.interval, start_date=EPOCH, timezone=UTC)


def build_scheduler(
    jobs: Iterable[ScheduledJob], claimer: TickClaimer, now: float, sleep: Callable[[float], bool | None]
) -> BackgroundScheduler:
    jobs = tuple(jobs)
    scheduler = BackgroundScheduler(timezone=UTC)
    for job in jobs:
        scheduler.add_job(
            run_job,
            trigger(job),
            args=(claimer, job),
            kwargs={"sleep": sleep},
            id=job.name,
            name=job.description,
            next_run_time=as_datetime(first_run(now, job.interval)),
            coalesce=True,
            misfire_grace_time=None,  # decided in run_job, see above
            max_instances=1,
        )
    by_name = {job.name: job for job in jobs}

    def on_skipped(event: JobSubmissionEvent) -> None:
        # The job's previous run is still retrying; it gives up within its grace time.
        for run_time in event.scheduled_run_times:
            tick, error = int(run_time.timestamp()), "the previous tick is still being retried"
            _log(logging.ERROR, "schedule tick missed", by_name[event.job_id], tick, MISSED, error=error)

    scheduler.add_listener(on_skipped, EVENT_JOB_MAX_INSTANCES)
    return scheduler
