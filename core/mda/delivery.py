"""Store a parsed inbound message in each recipient's mailbox, in its thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower

from core.mda.parsing import ParsedMessage, parse_message
from core.models import InboundMessage, Mailbox, Message, Thread
from core.services.search import messages_stored

#: How many References a reply may carry that we look up.
_MAX_REFERENCES = 50


@dataclass
class Delivery:
    stored: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failure: str = ""
    parsed: ParsedMessage | None = None
    mailboxes: list[Mailbox] = field(default_factory=list)


def find_mailboxes(recipients: list[str]) -> tuple[list[Mailbox], list[str]]:
    """The recipients' mailboxes, matched whatever the case, and the addresses without one."""
    wanted = {r.lower(): r for r in recipients}
    found = list(Mailbox.objects.annotate(key=Lower("address")).filter(key__in=list(wanted)).order_by("pk"))
    known = {m.key for m in found}
    return found, [original for key, original in wanted.items() if key not in known]


def find_thread(mailbox: Mailbox, parsed: ParsedMessage) -> Thread | None:
    """The thread of the message it replies to, else the latest one with the same subject."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i][:_MAX_REFERENCES]
    if ids:
        parent = Message.objects.filter(mailbox=mailbox, message_id__in=ids).select_related("thread")
        parent = parent.order_by("-stored_at").first()
        if parent is not None:
            return parent.thread
    if parsed.normalized_subject:
        threads = Thread.objects.filter(mailbox=mailbox, normalized_subject=parsed.normalized_subject)
        return threads.order_by("-last_message_at").first()
    return None


def _store_one(row: InboundMessage, mailbox: Mailbox, parsed: ParsedMessage) -> int | None:
    """The new message's id, or None when the mailbox already has this Message-ID."""
    if Message.objects.filter(mailbox=mailbox, message_id=parsed.message_id).exists():
        return None
    received = row.received_at
    thread = find_thread(mailbox, parsed)
    if thread is None:
        thread = Thread.objects.create(
            mailbox=mailbox,
            subject=parsed.subject,
            normalized_subject=parsed.normalized_subject,
            last_message_at=received,
        )
    elif thread.last_message_at < received:
        Thread.objects.filter(pk=thread.pk).update(last_message_at=received)
    # A concurrent delivery of the same Message-ID to this mailbox fails the
    # unique constraint; that attempt is retried and then finds it stored.
    message = Message.objects.create(
        mailbox=mailbox,
        thread=thread,
        inbound=row,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references[:_MAX_REFERENCES],
        subject=parsed.subject,
        sender=parsed.sender,
        to=parsed.to,
        cc=parsed.cc,
        date=parsed.date,
        body_text=parsed.text,
        snippet=parsed.snippet,
        size=row.size,
        attachments=[vars(a) for a in parsed.attachments],
        raw=bytes(row.raw),
    )
    return message.pk


def prepare(row: InboundMessage) -> Delivery:
    """Parse and find the mailboxes, outside any transaction.

    On SQLite a transaction holds the database's one write lock: parsing
    inside it kept every other worker process waiting.
    """
    result = Delivery()
    result.parsed = parse_message(bytes(row.raw))
    if not result.parsed.has_headers:
        result.failure = "not a mail message: no header could be read"
        return result
    result.mailboxes, result.missing = find_mailboxes(row.recipients)
    if not result.mailboxes:
        result.failure = f"no such mailbox: {', '.join(result.missing)}"
    return result


def store(row: InboundMessage, delivery: Delivery) -> None:
    """File the prepared message in each mailbox; the caller's transaction also records the outcome."""
    for mailbox in delivery.mailboxes:
        stored = _store_one(row, mailbox, delivery.parsed)
        if stored is None:
            delivery.duplicates.append(mailbox.address)
        else:
            delivery.stored.append(stored)
    if delivery.stored:
        ids = list(delivery.stored)
        transaction.on_commit(lambda: messages_stored(ids))
