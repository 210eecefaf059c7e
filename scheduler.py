"""The scheduler process that ``worker.py`` starts unless ``--disable-scheduler``.

It only enqueues actors; task code never runs here.  The periodic jobs
(and their exactly-once claim across workers) come with the scheduler
issue; this is the process entry point and its lifecycle.
"""

from __future__ import annotations

import logging

from core.runtime.child import ChildProcess

logger = logging.getLogger("worker.scheduler")


def main() -> int:
    child = ChildProcess()
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start()
    logger.info("scheduler running with %d job(s)", len(scheduler.get_jobs()))
    child.wait_for_stop(logger)
    scheduler.shutdown(wait=False)
    logger.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
