"""How task modules declare actors: always on our broker.

The task modules themselves are listed here so that every worker process
(and the dashboard) imports the same set; ``WORKER_TASK_MODULES`` adds
more, comma-separated.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq
from dramatiq.middleware import CurrentMessage

from broker import broker

F = TypeVar("F", bound=Callable[..., Any])

#: Imported by every worker process.  A module that does not exist yet
#: (its issue has not landed) is skipped.
TASK_MODULES: tuple[str, ...] = (
    "core.maintenance_tasks",
    "core.mda.inbound_tasks",
    "core.mda.outbound_tasks",
    "core.services.importer.tasks",
    "core.services.search.tasks",
)


def actor(fn: F | None = None, **options: Any):
    """``dramatiq.actor`` bound to our broker; the queue comes from the module."""
    if fn is None:
        return lambda f: dramatiq.actor(f, broker=broker, **options)
    return dramatiq.actor(fn, broker=broker, **options)


def current_message_id() -> str:
    """The running Dramatiq message's id (claims are taken in its name), or "direct-call" outside a worker."""
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else "direct-call"


def send_or_leave_for_sweep(target: dramatiq.Actor, row_id: int, what: str, logger: logging.Logger) -> bool:
    """Enqueue ``target(row_id)`` for a stored row; False, logged, if the broker is down.

    The row is committed already, so nothing is lost: the sweep enqueues it later.
    """
    try:
        target.send(row_id)
    except Exception as error:  # noqa: BLE001 - redis and dramatiq raise several kinds; the row is safe
        action = f"{what.replace(' ', '_')}_enqueue_failed"
        logger.warning(
            "broker unreachable, %s %s waits for the sweep: %s",
            what,
            row_id,
            error,
            extra={"action": action, "row_id": row_id},
        )
        return False
    return True


def extra_task_modules() -> list[str]:
    return [m.strip() for m in os.environ.get("WORKER_TASK_MODULES", "").split(",") if m.strip()]


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def import_task_modules() -> list[str]:
    """Import every task module; return the ones imported."""
    imported = []
    for name in (*TASK_MODULES, *extra_task_modules()):
        if name in TASK_MODULES and not _exists(name):
            continue
        importlib.import_module(name)
        imported.append(name)
    return imported
