"""Mail handed over by the MTA, kept until it is delivered or failed with a reason."""

from __future__ import annotations

from django.db import models


class InboundMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DELIVERED = "delivered"
        FAILED = "failed"

    raw = models.BinaryField()
    #: Envelope recipients, as the MTA gave them.
    recipients = models.JSONField()
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    #: When the sweep may enqueue this row again if it is still pending.
    next_attempt_at = models.DateTimeField()
    #: The Dramatiq message processing this row: the same message, redelivered
    #: after its worker died, may take the row over at once.
    claimed_by = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"inbound #{self.pk} to {', '.join(self.recipients)} ({self.status})"
