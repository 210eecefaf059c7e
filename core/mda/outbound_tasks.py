"""Outbound actors, on the ``outbound`` queue by their module.

The scheduler enqueues ``retry_pending_messages`` and ``system_selfcheck``
by name, without arguments: keep their names and signatures.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from core.mda import outbound_state
from core.mda.mail_metrics import count_recipients
from core.mda.outbound import enqueue_sending
from core.mda.outbound_settings import SmtpSettings, selfcheck_address, selfcheck_timeout, smtp_settings
from core.mda.selfcheck import run_selfcheck
from core.mda.smtp_client import Reply, relay
from core.tasks import actor, current_message_id

logger = logging.getLogger("worker.outbound")
Status = outbound_state.Status
SWEEP_BATCH = 200
#: At most this many batches a run: a huge backlog is spread over several sweeps.
SWEEP_MAX_BATCHES = 25


@actor(time_limit=5 * 60 * 1000)
def send_outbound_message(outbound_id: int) -> None:
    """Relay the message to its recipients that are due; never twice to one recipient."""
    send_message(outbound_id, current_message_id(), timezone.now(), smtp_settings())


@actor(time_limit=2 * 60 * 1000)
def retry_pending_messages() -> None:
    """The sweep (every 5 minutes): enqueue messages with recipients due."""
    sweep_outbound(timezone.now())


@actor(time_limit=15 * 60 * 1000)
def system_selfcheck() -> None:
    """Our own mail, out through the relay and back through the inbound pipeline."""
    run_selfcheck(smtp_settings(), selfcheck_address(), selfcheck_timeout())


def send_message(outbound_id: int, claimant: str, now: datetime, settings: SmtpSettings) -> dict[str, int] | None:
    """What ``send_outbound_message`` does; the counts by outcome, or None if another run holds it."""
    message = outbound_state.claim(outbound_id, claimant, now)
    if message is None:
        logger.debug(
            "outbound message %s skipped: being sent elsewhere, or gone",
            outbound_id,
            extra={"action": "outbound_skipped", "outbound_id": outbound_id},
        )
        return None
    try:
        recipients = outbound_state.due_recipients(message, now)
        if not recipients:
            return {}
        addresses = [r.address for r in recipients]
        try:
            replies = relay(settings, message.sender, addresses, bytes(message.raw))
        except Exception as error:  # noqa: BLE001 - a bug must not keep it out of the schedule (or the 2-day limit)
            logger.exception("outbound message %s: unexpected error while sending", outbound_id)
            replies = dict.fromkeys(addresses, Reply(None, f"unexpected error: {type(error).__name__}: {error}"))
        counts = outbound_state.record(message, recipients, replies, now)
    finally:
        outbound_state.release(message)
    _log_outcome(message.pk, recipients, replies, counts)
    count_recipients(counts)
    return counts


def _log_outcome(outbound_id: int, recipients, replies, counts: dict[str, int]) -> None:
    base = {"outbound_id": outbound_id}
    for recipient in recipients:
        reply = replies[recipient.address]
        if reply.accepted:
            continue
        action, level = ("outbound_failed", logging.ERROR) if reply.permanent else ("outbound_retry", logging.WARNING)
        logger.log(
            level,
            "outbound message %s to %s not accepted: %s",
            outbound_id,
            recipient.address,
            reply,
            extra={**base, "action": action, "recipient": recipient.address, "reply": str(reply)},
        )
    fields = {**base, "action": "outbound_attempted", **{str(k): v for k, v in counts.items()}}
    logger.info("outbound message %s: %s", outbound_id, ", ".join(f"{k} {v}" for k, v in counts.items()), extra=fields)


def sweep_outbound(now: datetime, batch: int = SWEEP_BATCH, max_batches: int = SWEEP_MAX_BATCHES) -> int:
    """What ``retry_pending_messages`` does; how many messages it enqueued."""
    enqueued = 0
    for _ in range(max_batches):
        ids = outbound_state.due_message_ids(now, batch)
        for outbound_id in ids:
            if not outbound_state.mark_swept(outbound_id, now):
                continue
            if not enqueue_sending(outbound_id):
                outbound_state.unmark_swept(outbound_id)
                return _swept(enqueued)  # the broker is down: the next sweep tries again
            enqueued += 1
        if len(ids) < batch:
            break
    return _swept(enqueued)


def _swept(enqueued: int) -> int:
    if enqueued:
        logger.info(
            "outbound sweep: %d message(s) enqueued", enqueued, extra={"action": "outbound_swept", "enqueued": enqueued}
        )
    return enqueued
