"""The scheduler process that ``worker.py`` starts unless ``--disable-scheduler``.

It fires the jobs of ``core.schedule`` (plus ``WORKER_SCHEDULE_EXTRA``)
at tick instants every scheduler agrees on, and enqueues each tick's
message exactly once across every worker running a scheduler
(``core.runtime.scheduling``).  It only enqueues; it never imports an
actor and task code never runs here.
"""

from __future__ import annotations

import logging
import os
import time

from core.runtime.child import ChildProcess
from core.runtime.ticks import describe_tick

logger = logging.getLogger("worker.scheduler")


def main() -> int:
    child = ChildProcess()
    from broker import broker
    from core.runtime.config import ConfigError, resolve_schedule
    from core.runtime.scheduling import build_scheduler, first_run
    from core.runtime.tick_claim import TickClaimer
    from core.schedule import SCHEDULE, EnvInterval, describe_every

    try:
        jobs = resolve_schedule(os.environ)
    except ConfigError as error:  # worker.py checked it at start; only a changed environment gets here
        logger.error("%s", error)
        return 2
    # Its routine INFO lines ("Running job ...") would repeat every tick; ours say more.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    now = time.time()
    names = {job.name for job in jobs}
    for job in SCHEDULE:
        if job.name not in names and isinstance(job.every, EnvInterval):
            logger.info("%s is off: %s=0", job.name, job.every.variable)
    for job in jobs:
        logger.info(
            "scheduled %s: %s on %s, first at %s",
            job.name,
            describe_every(job.every).lower(),
            job.queue,
            describe_tick(int(first_run(now, job.interval))),
        )
    scheduler = build_scheduler(jobs, TickClaimer(broker), now, sleep=child.stop.wait)
    scheduler.start()
    logger.info("scheduler running with %d job(s)", len(jobs))
    child.wait_for_stop(logger)
    child.stop.set()  # also when the supervisor is gone: ends any retry wait at once
    scheduler.shutdown(wait=True)
    logger.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
