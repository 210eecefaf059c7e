"""What an operator can look at in the Django admin."""

from __future__ import annotations

from django.contrib import admin

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
