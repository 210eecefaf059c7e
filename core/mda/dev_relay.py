"""The development SMTP relay (``manage.py smtp_relay``): closes the loop with no MTA installed.

Mail for a local mailbox (``core.models.Mailbox``, whatever the case) goes
to inbound intake, the rest to an optional upstream relay; without one it
is refused with 550 at RCPT.  For development and tests only: it listens on
loopback by default, asks for no authentication and keeps no queue.
"""

from __future__ import annotations

import logging
import socket

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections

from core.mda.delivery import find_mailboxes
from core.mda.inbound import IntakeError, MessageTooLarge, receive
from core.mda.outbound_settings import SmtpSettings
from core.mda.smtp_client import relay

logger = logging.getLogger("worker.smtp_relay")


class RelayHandler:
    """aiosmtpd hooks; the database work runs in one worker thread (Django's ORM is synchronous)."""

    def __init__(self, upstream: SmtpSettings | None = None, max_size: int | None = None) -> None:
        self.upstream = upstream
        self.max_size = max_size

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:  # noqa: N802 - aiosmtpd's name
        try:
            local = await sync_to_async(self.is_local)(address)
        except DatabaseError as error:
            return f"451 4.3.0 cannot look the mailbox up now: {_first_line(error)}"
        if not local and self.upstream is None:
            return f"550 5.1.1 <{address}>: no such mailbox here, and no upstream relay"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        return await sync_to_async(self.deliver)(envelope.mail_from, list(envelope.rcpt_tos), raw)

    def is_local(self, address: str) -> bool:
        close_old_connections()
        return not find_mailboxes([address])[1]

    def deliver(self, sender: str, recipients: list[str], raw: bytes) -> str:
        """Local recipients first: if the upstream then fails the client sends again, and
        inbound delivery drops the second copy by its Message-ID."""
        close_old_connections()
        missing = find_mailboxes(recipients)[1]
        local = [r for r in recipients if r not in missing]
        if local:
            try:
                receive(raw, local, limit=self.max_size)
            except MessageTooLarge as error:
                return f"552 5.3.4 {error}"
            except IntakeError as error:
                return f"554 5.6.0 {error}"
            except DatabaseError as error:
                return f"451 4.3.0 cannot store the message now: {_first_line(error)}"
        if missing:
            refused = [r for r in relay(self.upstream, sender, missing, raw).values() if not r.accepted]
            transient = [r for r in refused if not r.permanent]
            if transient:
                return f"451 4.4.0 upstream relay {self.upstream.describe()}: {transient[0]}"
            if refused:
                return f"554 5.0.0 upstream relay {self.upstream.describe()} refused it: {refused[0]}"
        logger.info("relayed a message: %d local, %d upstream", len(local), len(missing))
        return "250 OK"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def build_relay(host: str, port: int, upstream: SmtpSettings | None, max_size: int) -> Controller:
    """Not started yet.  Raises ``OSError`` at once if the port is taken (aiosmtpd's
    ``start()`` would find out only after its 10-second ready time-out)."""
    with socket.create_server((host, port)):  # SO_REUSEADDR, as asyncio's server will
        pass
    handler = RelayHandler(upstream, max_size)
    return Controller(handler, hostname=host, port=port, data_size_limit=max_size, ready_timeout=10)


def parse_upstream(value: str, source: str) -> SmtpSettings:
    """``host`` or ``host:port`` (25 by default), plain SMTP."""
    from core.runtime.config import ConfigError

    host, colon, port = value.strip().rpartition(":")
    if not colon:
        host, port = value.strip(), "25"
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535 or any(c.isspace() for c in host):
        raise ConfigError(source, f"{value!r} is not HOST or HOST:PORT")
    return SmtpSettings(host=host, port=int(port))
