"""A worker process: one Dramatiq ``Worker`` on the queues it was given.

Started and supervised by ``worker.py`` (``core.runtime.supervisor``);
it takes its orders as a ``ChildSpec`` in the environment.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

from core.runtime.child import ChildProcess

logger = logging.getLogger("worker.process")


def main() -> int:
    child = ChildProcess()
    spec = child.spec
    from dramatiq import Worker

    from broker import broker, worker_middleware
    from core.tasks import import_task_modules

    broker.broker_id = spec.worker_id
    for middleware in worker_middleware(spec.metrics_dir):
        broker.add_middleware(middleware)
    broker.emit_after("process_boot")
    modules = import_task_modules()
    # Django and the task modules are a large, long-lived heap; freezing it
    # keeps the garbage collector from re-scanning it on every full pass
    # (it cost several per cent of a no-op task's CPU).
    gc.collect()
    gc.freeze()
    worker = Worker(broker, queues=set(spec.queues), worker_threads=spec.threads)
    worker.start()
    logger.info(
        "consuming %s with %d threads (worker id %s; tasks from %s)",
        ",".join(spec.queues),
        spec.threads,
        spec.worker_id,
        ", ".join(modules),
    )
    child.wait_for_stop(logger)

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
