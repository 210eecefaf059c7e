"""Probe actors for the tests: one in each routed module, plus blockers.

Each probe is declared as if it lived in a routed module (``__module__`` is
what routing reads), so the tests exercise the real prefixes without the
task modules that later issues create.  Worker processes import this
module through ``WORKER_TASK_MODULES=tests.probes``.  Probes report to
Redis lists in the broker's namespace, so a test sees what ran, where and
in which order, and a blocker waits on a Redis key instead of sleeping.
"""

from __future__ import annotations

import json
import os
import time

from django.db import connection

from broker import broker
from core.tasks import actor

#: Module each probe pretends to live in, by the queue it should land on.
PROBE_MODULES = {
    "inbound": "core.mda.inbound_tasks",
    "outbound": "core.mda.outbound_tasks",
    "default": "core.somewhere_else",
    "imports": "core.services.importer.tasks",
    "reindex": "core.services.search.tasks",
}


def key(name: str) -> str:
    return f"{broker.namespace}:probe:{name}"


def _report(list_name: str, token: str, queue: str) -> None:
    record = {"token": token, "queue": queue, "pid": os.getpid(), "at": time.time()}
    broker.client.rpush(key(list_name), json.dumps(record))


def _make_probe(queue: str, module: str):
    def probe(token: str, block: bool = False, fail: bool = False) -> None:
        _report("started", token, queue)
        if fail:
            raise RuntimeError(f"probe {token} failed on purpose")
        if block:
            # Held until the test pushes to the release key (or 60 s pass);
            # short waits, as the client's socket timeout is a few seconds.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not broker.client.blpop([key(f"release:{token}")], timeout=1):
                pass
        # Touch the real database, so a worker that cannot reach it fails here.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        _report("done", token, queue)

    probe.__module__ = module
    probe.__name__ = probe.__qualname__ = f"probe_{queue}"
    return actor(probe, time_limit=120_000)


PROBES = {queue: _make_probe(queue, module) for queue, module in PROBE_MODULES.items()}


def _management_probe(token: str, block: bool = False) -> None:
    _report("started", token, "management")
    _report("done", token, "management")


_management_probe.__name__ = "probe_management"
PROBES["management"] = actor(_management_probe, queue_name="management", actor_name="probe_management")


@actor
def tick_probe(tick: int) -> None:
    """Enqueued by the test-only scheduled job of ``tests.scheduled_jobs``: reports the tick it serves."""
    _report("ticks", str(tick), "default")
