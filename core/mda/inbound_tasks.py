"""Inbound actors, on the ``inbound`` queue by their module."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from core.mda import inbound_state
from core.mda.delivery import prepare, store
from core.mda.inbound import enqueue_processing
from core.tasks import actor, current_message_id

logger = logging.getLogger("worker.inbound")
Status = inbound_state.Status


def _log(level: int, action: str, inbound_id: int, text: str, **fields) -> None:
    logger.log(
        level,
        f"{action.replace('_', ' ')}: inbound message {inbound_id} {text}".rstrip(),
        extra={"action": action, "inbound_id": inbound_id, **fields},
    )


@actor(time_limit=5 * 60 * 1000)
def process_inbound(inbound_id: int) -> None:
    """Parse the stored message and file it in each recipient's mailbox; once."""
    process_inbound_message(inbound_id, current_message_id())


@actor(time_limit=2 * 60 * 1000)
def process_inbound_queue() -> None:
    """The sweep: enqueue again rows the broker lost; fail rows out of attempts."""
    sweep_inbound(timezone.now())


def process_inbound_message(inbound_id: int, claimant: str) -> str:
    """What ``process_inbound`` does; returns the row's new status (or "skipped")."""
    row = inbound_state.claim(inbound_id, claimant, timezone.now())
    if row is None:
        _log(logging.DEBUG, "inbound_skipped", inbound_id, "is done or being processed elsewhere")
        return "skipped"
    try:
        result = prepare(row)
        # The messages and the row's outcome commit together: a crash leaves
        # neither, and the redelivered message starts again.
        with transaction.atomic():
            if not result.failure:
                store(row, result)
            if result.failure:
                status, note = Status.FAILED, result.failure
            else:
                status = Status.DELIVERED
                note = f"no such mailbox: {', '.join(result.missing)}" if result.missing else ""
            inbound_state.finish(row, status, note, timezone.now())
    except Exception as error:  # noqa: BLE001 - the row keeps the reason and the sweep retries it
        status = inbound_state.give_back(row, f"{type(error).__name__}: {error}", timezone.now())
        _log(
            logging.ERROR,
            "inbound_attempt_failed",
            inbound_id,
            f"(attempt {row.attempts}, now {status}): {error}",
            attempts=row.attempts,
        )
        return status
    if status == Status.FAILED:
        _log(logging.WARNING, "inbound_failed", inbound_id, note)
        return status
    _log(
        logging.INFO,
        "inbound_delivered",
        inbound_id,
        f"stored {len(result.stored)}, already there {len(result.duplicates)}" + (f"; {note}" if note else ""),
        stored=len(result.stored),
    )
    return Status.DELIVERED


def sweep_inbound(now) -> dict[str, int]:
    """What ``process_inbound_queue`` does; returns how many rows it enqueued and failed."""
    counts = {"enqueued": 0, "failed": 0}
    for row in inbound_state.due_for_sweep(now):
        if row.attempts >= inbound_state.MAX_ATTEMPTS:
            if inbound_state.fail_exhausted(row, now):
                counts["failed"] += 1
                _log(logging.WARNING, "inbound_failed", row.pk, f"after {row.attempts} attempts")
        elif inbound_state.schedule_retry(row, now) and enqueue_processing(row.pk):
            counts["enqueued"] += 1
    if any(counts.values()):
        logger.info(
            "inbound sweep: %(enqueued)d enqueued again, %(failed)d failed",
            counts,
            extra={"action": "inbound_swept", **counts},
        )
    return counts
