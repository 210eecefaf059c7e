"""The scheduler process that ``worker.py`` starts unless ``--disable-scheduler``.

It only enqueues actors; task code never runs here.  The periodic jobs
(and their exactly-once claim across workers) come with the scheduler
issue; this is the process entry point and its lifecycle.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from core.runtime.child import ChildSpec, die_with_parent, parent_alive
from core.runtime.config import configure_logging

logger = logging.getLogger("worker.scheduler")


def main() -> int:
    spec = ChildSpec.from_env()
    die_with_parent(spec.parent_pid)
    configure_logging(spec.loglevel, spec.label, spec.log_format)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start()
    logger.info("scheduler running with %d job(s)", len(scheduler.get_jobs()))
    while not stop.wait(1.0):
        if not parent_alive(spec.parent_pid):
            break
    scheduler.shutdown(wait=False)
    logger.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
