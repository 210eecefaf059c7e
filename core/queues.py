"""The queue topology, declared once.

Everything that needs to know about queues (the CLI help, the routing
middleware, the prefetch policy, the README tables and the tests) reads
``QUEUES`` so that a queue is added or re-ordered in exactly one place.
This module imports nothing from Django or Dramatiq so that it is cheap
to read from anywhere, including ``worker.py --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Tier(Enum):
    """How a queue is treated by the prefetch policy."""

    #: Time-sensitive: never hoarded by a busy process.
    URGENT = "urgent"
    #: Ordinary work: Dramatiq's usual prefetch.
    NORMAL = "normal"
    #: Bulk work: may never occupy every task slot of a process.
    BULK = "bulk"


@dataclass(frozen=True)
class Queue:
    name: str
    description: str
    tier: Tier
    #: Module prefixes whose actors are routed to this queue.
    prefixes: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """1 for the highest priority, as in the README's table."""
        return QUEUE_NAMES.index(self.name) + 1


#: Highest priority first.  The order is the priority.
QUEUES: tuple[Queue, ...] = (
    Queue("management", "Admin/management tasks (migrations, cleanup)", Tier.URGENT),
    Queue(
        "inbound",
        "Inbound email processing (time-sensitive)",
        Tier.URGENT,
        ("core.mda.inbound_tasks",),
    ),
    Queue(
        "outbound",
        "Outbound email sending and retries",
        Tier.URGENT,
        ("core.mda.outbound_tasks",),
    ),
    Queue("default", "General tasks (fallback for unrouted tasks)", Tier.NORMAL),
    Queue(
        "imports",
        "File import processing (MBOX, EML, IMAP)",
        Tier.BULK,
        ("core.services.importer.tasks",),
    ),
    Queue("reindex", "Search indexing", Tier.BULK, ("core.services.search.tasks",)),
)

QUEUE_NAMES: tuple[str, ...] = tuple(q.name for q in QUEUES)
DEFAULT_QUEUE = "default"
_BY_NAME = {q.name: q for q in QUEUES}


class UnknownQueueError(ValueError):
    def __init__(self, names: list[str], context: str = "") -> None:
        self.names = names
        plural = "queues" if len(names) > 1 else "queue"
        super().__init__(
            f"{context}unknown {plural} {', '.join(repr(n) for n in names)}; valid queues are: {', '.join(QUEUE_NAMES)}"
        )


def get_queue(name: str) -> Queue:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownQueueError([name]) from None


def route_module(module: str) -> str:
    """The queue an actor defined in ``module`` lands on.

    A prefix matches the module itself or any module below it
    (``core.mda.inbound_tasks`` and ``core.mda.inbound_tasks.spam``), never
    a sibling that merely starts with the same letters
    (``core.mda.inbound_tasks_old``).
    """
    for queue in QUEUES:
        for prefix in queue.prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return queue.name
    return DEFAULT_QUEUE


def parse_queue_list(text: str | None) -> list[str]:
    """Split a comma-separated option value; blanks are dropped."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def resolve_queues(include: list[str], exclude: list[str]) -> list[str]:
    """The queues to consume, in priority order whatever order they were typed in.

    Raises ``UnknownQueueError`` for names not in the topology and
    ``ValueError`` when the exclusions leave nothing to consume.
    """
    unknown = [n for n in [*include, *exclude] if n not in _BY_NAME]
    if unknown:
        raise UnknownQueueError(list(dict.fromkeys(unknown)))
    wanted = set(include) if include else set(QUEUE_NAMES)
    selected = [n for n in QUEUE_NAMES if n in wanted and n not in set(exclude)]
    if not selected:
        raise ValueError(f"no queue left to consume after exclusions; valid queues are: {', '.join(QUEUE_NAMES)}")
    return selected


def queue_table() -> str:
    """The README's queue table, made from ``QUEUES``."""
    rows = ["| Priority | Queue | Description |", "|----------|-------|-------------|"]
    last = len(QUEUES)
    for q in QUEUES:
        label = f"{q.rank} (highest)" if q.rank == 1 else f"{q.rank} (lowest)" if q.rank == last else str(q.rank)
        rows.append(f"| {label} | `{q.name}` | {q.description} |")
    return "\n".join(rows)


def routing_table() -> str:
    """The README's routing table, made from ``QUEUES``."""
    rows = ["| Task Module | Queue |", "|-------------|-------|"]
    rows += [f"| `{prefix}.*` | `{q.name}` |" for q in QUEUES for prefix in q.prefixes]
    rows.append(f"| Everything else | `{DEFAULT_QUEUE}` |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m core.queues: print the README tables
    print(queue_table(), routing_table(), sep="\n\n")
