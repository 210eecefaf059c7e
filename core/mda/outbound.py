"""The outbound API: ``send(...)`` builds the MIME message, stores it, then queues its sending.

Bad input raises ``OutboundError`` before anything is stored or queued.
The message and one row per recipient are committed first and the send
actor is enqueued only after the commit: if the broker is down at that
moment the rows stay pending and the retry sweep picks them up.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage

from django.db import transaction
from django.utils import timezone

from core.mda.addresses import AddressError, parse_address, parse_addresses
from core.models import OutboundMessage, OutboundRecipient

logger = logging.getLogger("worker.outbound")

#: A pending recipient the broker never heard of is swept after this long.
SWEEP_GRACE = timedelta(seconds=60)
#: CRLF line ends, as SMTP wants; 7-bit bodies (quoted-printable or base64),
#: so no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")

Attachment = tuple[str, str, bytes]


class OutboundError(ValueError):
    """The message cannot be sent as given; the text says which field and why."""


@dataclass(frozen=True)
class BuiltMessage:
    raw: bytes
    message_id: str
    sender: str
    recipients: list[str]


def _check_attachment(item: object) -> Attachment:
    if not (isinstance(item, tuple | list) and len(item) == 3):
        raise OutboundError(f"attachments: {item!r:.60} is not a (filename, content_type, bytes) triple")
    name, content_type, data = item
    if not isinstance(name, str) or not name.strip():
        raise OutboundError(f"attachments: {name!r} is not a file name")
    if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
        raise OutboundError(f"attachments: {content_type!r} of {name!r} is not a content type such as application/pdf")
    if not isinstance(data, bytes | bytearray):
        raise OutboundError(f"attachments: the content of {name!r} is {type(data).__name__}, not bytes")
    return name, content_type.lower(), bytes(data)


def _unique(addresses: list[Address]) -> list[str]:
    """Envelope recipients, each once whatever its case."""
    unique: dict[str, str] = {}
    for address in addresses:
        unique.setdefault(address.addr_spec.lower(), address.addr_spec)
    return list(unique.values())


def build_message(
    sender: str,
    to: Sequence[str] | str = (),
    subject: str = "",
    text: str = "",
    *,
    cc: Sequence[str] | str = (),
    bcc: Sequence[str] | str = (),
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    date: datetime | None = None,
    message_id: str | None = None,
) -> BuiltMessage:
    """The MIME message and its envelope; raises ``OutboundError``."""
    try:
        from_address = parse_address(sender, "from")
        to_list, cc_list, bcc_list = (parse_addresses(v, f) for v, f in ((to, "to"), (cc, "cc"), (bcc, "bcc")))
    except AddressError as error:
        raise OutboundError(str(error)) from None
    recipients = _unique([*to_list, *cc_list, *bcc_list])
    if not recipients:
        raise OutboundError("to: no recipient; give at least one to, cc or bcc address")
    if not isinstance(subject, str) or "\r" in subject or "\n" in subject:
        raise OutboundError("subject: must be text on one line")
    if not isinstance(text, str) or not (html is None or isinstance(html, str)):
        raise OutboundError("text and html: must be text")
    files = [_check_attachment(a) for a in attachments]

    msg = EmailMessage(policy=POLICY)
    msg["From"] = from_address
    if to_list:
        msg["To"] = to_list
    if cc_list:
        msg["Cc"] = cc_list
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(date or timezone.now())
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=from_address.domain)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return BuiltMessage(msg.as_bytes(), msg["Message-ID"].strip("<>"), from_address.addr_spec, recipients)


def send(sender: str, to: Sequence[str] | str = (), subject: str = "", text: str = "", **options) -> OutboundMessage:
    """Build, store and queue a message; the options are ``build_message``'s."""
    built = build_message(sender, to, subject, text, **options)
    now = timezone.now()
    with transaction.atomic():
        row = OutboundMessage.objects.create(
            sender=built.sender, subject=subject, message_id=built.message_id, raw=built.raw, size=len(built.raw)
        )
        OutboundRecipient.objects.bulk_create(
            OutboundRecipient(message=row, address=address, next_attempt_at=now + SWEEP_GRACE)
            for address in built.recipients
        )
        transaction.on_commit(lambda: enqueue_sending(row.pk))
    return row


def enqueue_sending(outbound_id: int) -> bool:
    """Ask a worker to send it; False (and the rows wait for the retry sweep) if the broker is down."""
    from core.mda.outbound_tasks import send_outbound_message
    from core.tasks import send_or_leave_for_sweep

    return send_or_leave_for_sweep(send_outbound_message, outbound_id, "outbound message", logger)
