"""The system selfcheck: our own mail, out through the SMTP relay and back in.

A message carrying a secret token goes from the selfcheck address to the
selfcheck mailbox through the configured relay; it must come back through
the inbound pipeline (intake, processing, the mailbox) within the timeout.
The outcome, with which leg failed, goes to the database, the log and the
metrics; the test message is deleted afterwards.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.mda.mail_metrics import record_selfcheck
from core.mda.outbound import build_message
from core.mda.outbound_settings import SmtpSettings
from core.mda.smtp_client import relay
from core.models import InboundMessage, Mailbox, Message, SelfcheckResult, Thread

logger = logging.getLogger("worker.selfcheck")
Leg = SelfcheckResult.Leg

POLL_INTERVAL = 0.2
ID_PREFIX = "selfcheck-"
#: Test messages that arrived after their check gave up are deleted by a later check.
LEFTOVER_AGE = timedelta(minutes=15)
RESULTS_KEPT = timedelta(days=30)


def selfcheck_mailbox(address: str) -> Mailbox:
    found = Mailbox.objects.filter(address__iexact=address).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Mailbox.objects.create(address=address)
    except IntegrityError:  # another check created it meanwhile
        return Mailbox.objects.get(address__iexact=address)


def _wait_for(mailbox: Mailbox, message_id: str, deadline: float) -> bool:
    while True:
        if Message.objects.filter(mailbox=mailbox, message_id=message_id).exists():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)


def _lost_where(address: str, token: str, started_at: datetime, timeout: float) -> tuple[str, str]:
    """Did the message reach intake (then processing failed) or not (the relay lost it)?"""
    recent = InboundMessage.objects.filter(received_at__gte=started_at).only("id", "recipients", "status", "last_error")
    for row in recent.order_by("-id")[:1000]:
        if address.lower() in (r.lower() for r in row.recipients):
            raw = InboundMessage.objects.values_list("raw", flat=True).get(pk=row.pk)
            if token.encode() in bytes(raw):
                reason = f"; {row.last_error}" if row.last_error else ""
                return (
                    Leg.INBOUND,
                    f"it reached intake (inbound message {row.pk}, {row.status}) but not the mailbox{reason}",
                )
    return Leg.RELAY, f"the relay accepted it but it did not reach inbound intake within {timeout:g}s"


def clean_up(mailbox: Mailbox, message_id: str, started_at: datetime) -> None:
    """Delete this check's message and leftovers of earlier ones, with their intake rows and empty threads."""
    ours = Message.objects.filter(mailbox=mailbox, message_id__startswith=ID_PREFIX)
    stale = ours.filter(message_id=message_id) | ours.filter(stored_at__lt=started_at - LEFTOVER_AGE)
    inbound_ids = [i for i in stale.values_list("inbound_id", flat=True) if i is not None]
    stale.delete()
    address = mailbox.address.lower()
    for row in InboundMessage.objects.filter(pk__in=inbound_ids).only("id", "recipients"):
        if [r.lower() for r in row.recipients] == [address]:
            row.delete()
    Thread.objects.filter(mailbox=mailbox, messages__isnull=True).delete()


def run_selfcheck(settings: SmtpSettings, address: str, timeout: float) -> SelfcheckResult:
    started_at = timezone.now()
    mailbox = selfcheck_mailbox(address)
    token = secrets.token_hex(16)
    message_id = f"{ID_PREFIX}{token}@{address.rsplit('@', 1)[1]}"
    built = build_message(
        address,
        address,
        f"Selfcheck {started_at:%Y-%m-%d %H:%M:%S}",
        f"Selfcheck token {token}\n",
        message_id=f"<{message_id}>",
    )
    result = SelfcheckResult(started_at=started_at, success=False)
    sent = time.monotonic()
    reply = relay(settings, built.sender, built.recipients, built.raw)[built.recipients[0]]
    result.send_seconds = round(time.monotonic() - sent, 3)
    if not reply.accepted:
        result.failed_leg, result.error = Leg.SEND, f"the relay {settings.describe()} did not accept it: {reply}"
    elif _wait_for(mailbox, message_id, sent + timeout):
        result.success, result.round_trip_seconds = True, round(time.monotonic() - sent, 3)
    else:
        result.failed_leg, result.error = _lost_where(address, token, started_at, timeout)
    clean_up(mailbox, message_id, started_at)
    result.save()
    SelfcheckResult.objects.filter(started_at__lt=started_at - RESULTS_KEPT).delete()
    _report(result)
    return result


def _report(result: SelfcheckResult) -> None:
    fields = {
        "action": "selfcheck_succeeded" if result.success else "selfcheck_failed",
        "failed_leg": result.failed_leg,
        "send_ms": None if result.send_seconds is None else round(result.send_seconds * 1000),
        "round_trip_ms": None if result.round_trip_seconds is None else round(result.round_trip_seconds * 1000),
    }
    if result.success:
        logger.info("selfcheck succeeded: round trip %(round_trip_ms)s ms (send %(send_ms)s ms)", fields, extra=fields)
    else:
        fields["error"] = result.error
        logger.error("selfcheck failed at the %s leg: %s", result.failed_leg, result.error, extra=fields)
    record_selfcheck(result.success, result.failed_leg, result.round_trip_seconds, time.time())
