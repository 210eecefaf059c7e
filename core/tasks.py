"""How task modules declare actors: always on our broker.

The task modules themselves are listed here so that every worker process
(and the dashboard) imports the same set; ``WORKER_TASK_MODULES`` adds
more, comma-separated.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq

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
