"""What an operator can look at in the Django admin."""

from __future__ import annotations

from django.contrib import admin

from core.models import InboundMessage, Mailbox, Message, Thread


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
