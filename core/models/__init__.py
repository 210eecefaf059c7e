"""The mail models; one module per concern, all imported here for Django."""

from core.models.inbound import InboundMessage
from core.models.mail import Mailbox, Message, Thread
from core.models.outbound import OutboundMessage, OutboundRecipient, SelfcheckResult

__all__ = [
    "InboundMessage",
    "Mailbox",
    "Message",
    "OutboundMessage",
    "OutboundRecipient",
    "SelfcheckResult",
    "Thread",
]
