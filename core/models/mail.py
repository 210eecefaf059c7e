"""Mailboxes and the messages stored in them."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class Mailbox(models.Model):
    #: Unique whatever its case: mail for ``Alice@Example.org`` reaches ``alice@example.org``.
    address = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("address"), name="mailbox_address_unique_ci")]

    def __str__(self) -> str:
        return self.address


class Thread(models.Model):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="threads")
    subject = models.TextField(blank=True)
    #: The subject without ``Re:``/``Fwd:`` prefixes, case-folded: replies
    #: without ``References`` join the thread of the same subject.
    normalized_subject = models.CharField(max_length=255, blank=True, db_index=True)
    last_message_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mailbox", "normalized_subject"])]

    def __str__(self) -> str:
        return self.subject or "(no subject)"


class Message(models.Model):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    inbound = models.ForeignKey("core.InboundMessage", null=True, blank=True, on_delete=models.SET_NULL)
    #: Without angle brackets; derived from the content when the header is missing.
    message_id = models.CharField(max_length=255)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    subject = models.TextField(blank=True)
    sender = models.TextField(blank=True)
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True)
    body_text = models.TextField(blank=True)
    snippet = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField()
    #: ``[{"name": ..., "type": ..., "size": ...}, ...]``
    attachments = models.JSONField(default=list, blank=True)
    raw = models.BinaryField()
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "message_id"], name="message_unique_per_mailbox")]

    def __str__(self) -> str:
        return self.subject or self.message_id
