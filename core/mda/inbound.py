"""Intake: mail handed over by the MTA is stored first, processed after.

``receive`` commits an ``InboundMessage`` and only then enqueues its
processing, so a message is never lost between the MTA and the mailbox:
if the broker is down at that moment the row simply stays pending and the
sweep (``process_inbound_queue``) picks it up.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.models import InboundMessage

logger = logging.getLogger("worker.inbound")

#: A row the broker never heard of is swept after this long.
SWEEP_GRACE = timedelta(seconds=60)
# Deliberately loose: the MTA already accepted the address; we only refuse what cannot be one.
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


class IntakeError(ValueError):
    """The message or its envelope cannot be accepted; the text says why."""


class MessageTooLarge(IntakeError):
    pass


def max_size(env: Mapping[str, str] = os.environ) -> int:
    """``INBOUND_MAX_SIZE`` in bytes (see ``core.runtime.config.resolve_inbound_max_size``)."""
    from core.runtime.config import resolve_inbound_max_size

    return resolve_inbound_max_size(env)


def check_recipients(recipients: Iterable[str]) -> list[str]:
    cleaned = [r.strip() for r in recipients if r and r.strip()]
    if not cleaned:
        raise IntakeError("no recipient: give at least one --to address")
    bad = [r for r in cleaned if not _ADDRESS.match(r)]
    if bad:
        raise IntakeError(f"not an address: {', '.join(repr(b) for b in bad[:5])}")
    return cleaned


def check_message(raw: bytes, limit: int) -> None:
    if not raw.strip():
        raise IntakeError("the message is empty")
    if len(raw) > limit:
        raise MessageTooLarge(f"the message is {len(raw)} bytes; the limit (INBOUND_MAX_SIZE) is {limit} bytes")


def receive(raw: bytes, recipients: Iterable[str], *, limit: int | None = None) -> InboundMessage:
    """Store the message for its recipients, then enqueue its processing; raises ``IntakeError``."""
    recipients = check_recipients(recipients)
    check_message(raw, max_size() if limit is None else limit)
    with transaction.atomic():
        row = InboundMessage.objects.create(
            raw=raw, recipients=recipients, size=len(raw), next_attempt_at=timezone.now() + SWEEP_GRACE
        )
        transaction.on_commit(lambda: enqueue_processing(row.pk))
    return row


def enqueue_processing(inbound_id: int) -> bool:
    """Ask a worker to process the row; False (and the row waits for the sweep) if the broker is down."""
    from core.mda.inbound_tasks import process_inbound
    from core.tasks import send_or_leave_for_sweep

    return send_or_leave_for_sweep(process_inbound, inbound_id, "inbound message", logger)
