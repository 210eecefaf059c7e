"""What an operator can look at in the Django admin."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from core.models import (
    InboundMessage,
    Mailbox,
    Message,
    OutboundMessage,
    OutboundRecipient,
    SelfcheckResult,
    Thread,
)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("address", "created_at")
    search_fields = ("address",)


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("subject", "mailbox", "last_message_at")
    list_filter = ("mailbox",)
    search_fields = ("subject",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "sender", "mailbox", "date", "size")
    list_filter = ("mailbox",)
    search_fields = ("subject", "sender", "message_id")
    exclude = ("raw",)
    readonly_fields = ("message_id", "thread", "inbound", "size", "attachments", "stored_at")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "recipients", "status", "attempts", "size", "received_at", "last_error")
    list_filter = ("status",)
    exclude = ("raw",)
    readonly_fields = ("recipients", "size", "attempts", "claimed_by", "received_at", "updated_at")
    actions = ["process_again"]

    @admin.action(description="Process again (e.g. after creating the missing mailbox)")
    def process_again(self, request, queryset) -> None:
        from core.mda.inbound import enqueue_processing

        rows = list(queryset.exclude(status=InboundMessage.Status.DELIVERED).values_list("pk", flat=True))
        InboundMessage.objects.filter(pk__in=rows).update(
            status=InboundMessage.Status.PENDING, attempts=0, claimed_by="", next_attempt_at=timezone.now()
        )
        enqueued = sum(enqueue_processing(pk) for pk in rows)
        self.message_user(request, f"{enqueued} of {len(rows)} message(s) queued for processing again")


class OutboundRecipientInline(admin.TabularInline):
    model = OutboundRecipient
    extra = 0
    can_delete = False
    readonly_fields = ("address", "status", "attempts", "next_attempt_at", "last_reply", "sent_at")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "sender", "size", "created_at")
    search_fields = ("subject", "sender", "message_id", "recipients__address")
    exclude = ("raw",)
    readonly_fields = ("sender", "message_id", "size", "claimed_by", "claimed_until", "next_sweep_at", "created_at")
    inlines = [OutboundRecipientInline]


@admin.register(OutboundRecipient)
class OutboundRecipientAdmin(admin.ModelAdmin):
    list_display = ("address", "message", "status", "attempts", "next_attempt_at", "last_reply")
    list_filter = ("status",)
    search_fields = ("address",)
    readonly_fields = ("message", "address", "attempts", "last_reply", "sent_at", "updated_at")


@admin.register(SelfcheckResult)
class SelfcheckResultAdmin(admin.ModelAdmin):
    list_display = ("started_at", "success", "failed_leg", "send_seconds", "round_trip_seconds", "error")
    list_filter = ("success", "failed_leg")
