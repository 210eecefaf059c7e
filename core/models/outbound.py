"""Outbound mail: the message as built once, each recipient's delivery state, selfcheck results."""

from __future__ import annotations

from django.db import models


class OutboundMessage(models.Model):
    #: The envelope sender (the From address, in its ASCII form).
    sender = models.CharField(max_length=320)
    subject = models.TextField(blank=True)
    #: Without angle brackets.
    message_id = models.CharField(max_length=255)
    #: The MIME message exactly as it is handed to the relay, Bcc left out.
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    #: One send at a time: the Dramatiq message holding the claim, until
    #: when.  A killed worker's claim lapses at ``claimed_until``.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    #: The sweep enqueued it and leaves it alone until then (null: any time).
    next_sweep_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"outbound #{self.pk} {self.subject or '(no subject)'}"


class OutboundRecipient(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        RETRY = "retry"
        FAILED = "failed"

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="recipients")
    #: The envelope recipient, in its ASCII form.
    address = models.CharField(max_length=320)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: For ``retry``: when it is due.  For ``pending``: when the sweep may
    #: enqueue it if the broker never heard of it.
    next_attempt_at = models.DateTimeField()
    #: The relay's last answer for this recipient (``452 4.2.2 Mailbox full``),
    #: or why there was none.
    last_reply = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "address"], name="outbound_recipient_unique")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.address} ({self.status})"


class SelfcheckResult(models.Model):
    class Leg(models.TextChoices):
        NONE = "", "none"
        #: Handing the message to the SMTP relay.
        SEND = "send"
        #: From the relay to our inbound intake.
        RELAY = "relay"
        #: From intake to the mailbox (inbound processing).
        INBOUND = "inbound"

    started_at = models.DateTimeField()
    success = models.BooleanField()
    #: Seconds the relay took to accept the message.
    send_seconds = models.FloatField(null=True, blank=True)
    #: Seconds from the start of the send until the message was in the mailbox.
    round_trip_seconds = models.FloatField(null=True, blank=True)
    failed_leg = models.CharField(max_length=16, choices=Leg.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"selfcheck {self.started_at:%Y-%m-%d %H:%M} {'ok' if self.success else f'failed ({self.failed_leg})'}"
