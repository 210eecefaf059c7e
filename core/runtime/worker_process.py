"""A worker process: one Dramatiq ``Worker`` on the queues it was given.

Started and supervised by ``worker.py`` (``core.runtime.supervisor``);
it takes its orders as a ``ChildSpec`` in the environment.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from core.runtime.child import ChildSpec, die_with_parent, parent_alive
from core.runtime.config import configure_logging

logger = logging.getLogger("worker.process")


def main() -> int:
    spec = ChildSpec.from_env()
    die_with_parent(spec.parent_pid)
    configure_logging(spec.loglevel, spec.label, spec.log_format)

    stop = threading.Event()
    # Only the supervisor tells us to stop (SIGTERM); a terminal's Ctrl-C
    # reaches the supervisor, which forwards it once.  A repeated SIGTERM
    # (a platform that signals every process, plus our parent) is not an
    # order to hurry: the supervisor escalates with SIGKILL when it must.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    from dramatiq import Worker

    from broker import broker, worker_middleware
    from core.tasks import import_task_modules

    broker.broker_id = spec.worker_id
    for middleware in worker_middleware(spec.metrics):
        broker.add_middleware(middleware)
    broker.emit_after("process_boot")
    modules = import_task_modules()
    worker = Worker(broker, queues=set(spec.queues), worker_threads=spec.threads)
    worker.start()
    logger.info(
        "consuming %s with %d threads (worker id %s; tasks from %s)",
        ",".join(spec.queues),
        spec.threads,
        spec.worker_id,
        ", ".join(modules),
    )
    while not stop.wait(1.0):
        if not parent_alive(spec.parent_pid):
            logger.error("supervisor is gone; stopping")
            break

    logger.info("stopping: finishing running tasks (up to %.0fs)", spec.shutdown_timeout)
    worker.stop(timeout=int(spec.shutdown_timeout * 1000))
    broker.close()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads still running a task past the timeout are abandoned; the
    # supervisor puts their messages back when it sees us exit.
    os._exit(0)


if __name__ == "__main__":
    main()
