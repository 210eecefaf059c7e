"""Real SMTP servers for the tests: aiosmtpd on 127.0.0.1, scripted to answer as a test says.

``ScriptedSmtp`` answers RCPT per recipient from a script (one reply per
attempt, the last repeated), and DATA from a script too: a reply, or
``"drop"`` to read the whole message and then close the connection
without answering, the case where the client cannot know if it was taken.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.mda.outbound_settings import SmtpSettings
from tests.support import free_port

CERT = Path(__file__).parent / "data" / "smtp-test-cert.pem"
KEY = Path(__file__).parent / "data" / "smtp-test-key.pem"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes


@dataclass
class ScriptedSmtp:
    rcpt: dict[str, list[str]] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    #: Messages read in full but never answered (DATA "drop").
    dropped: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered_to(self, address: str) -> int:
        """How many times a message was accepted for ``address``."""
        return sum(address in r.recipients for r in self.received)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            script = self.rcpt.get(address.lower(), [])
            reply = (script.pop(0) if len(script) > 1 else script[0]) if script else "250 OK"
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.lock:
            action = self.data.pop(0) if self.data else "250 OK"
        if action == "drop":
            self.dropped.append(message)
            server.transport.abort()
            return "250 OK"  # never reaches the client
        if action.startswith("2"):
            self.received.append(message)
        return action


class RunningSmtp:
    """A started server; ``settings`` points the outbound client at it."""

    def __init__(self, handler, security: str = "none", user: str = "", password: str = "") -> None:
        self.handler = handler
        self.port = free_port()
        kwargs: dict = {}
        if security != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(CERT, KEY)
            kwargs = (
                {"ssl_context": context} if security == "tls" else {"tls_context": context, "require_starttls": True}
            )
        if user:
            kwargs.update(auth_required=True, authenticator=_accept_only(user, password))
            # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS too.
            kwargs["auth_require_tls"] = security == "starttls"
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs)
        self.controller.start()
        self.settings = SmtpSettings(
            host="localhost" if security != "none" else "127.0.0.1",
            port=self.port,
            security=security,
            user=user,
            password=password,
            timeout=5,
        )

    def stop(self) -> None:
        self.controller.stop()


def _accept_only(user: str, password: str):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            getattr(auth_data, "login", b"") == user.encode()
            and getattr(auth_data, "password", b"") == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


def closed_port_settings() -> SmtpSettings:
    """A relay that is down: nothing listens on the port."""
    return SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
