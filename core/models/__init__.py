"""The mail models; one module per concern, all imported here for Django."""

from core.models.inbound import InboundMessage
from core.models.mail import Mailbox, Message, Thread

__all__ = ["InboundMessage", "Mailbox", "Message", "Thread"]
