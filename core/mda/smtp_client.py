"""Hand one message to an SMTP relay and learn what became of each recipient.

smtplib's ``sendmail`` raises one exception for the whole message as soon
as DATA fails, losing the replies of the recipients refused before it;
driving MAIL, RCPT and DATA one by one keeps every recipient's own reply.
A recipient with no reply (the relay unreachable, a time-out, the
connection lost) gets a ``Reply`` with ``code=None``: try again later.

Each thread keeps its session open for its next message (up to
``REUSE_IDLE`` seconds idle and ``REUSE_MAX_MESSAGES`` messages): a TCP
connection, a TLS handshake and a login per message would cap a real relay
at a few messages a second per thread.  A kept session is checked with
NOOP before use, so one the relay closed while idle is replaced before
anything is sent.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass

from core.mda.outbound_settings import SmtpSettings

#: Relays close idle sessions (Postfix after 300 s); we let ours go well before.
REUSE_IDLE = 30.0
REUSE_MAX_MESSAGES = 100


@dataclass(frozen=True)
class Reply:
    code: int | None
    text: str

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        """A 5xx reply: the relay will never take it."""
        return self.code is not None and 500 <= self.code < 600

    def __str__(self) -> str:
        return self.text if self.code is None else f"{self.code} {self.text}".strip()


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {text}"
    return str(error) or type(error).__name__


def _reply(code: int, text: bytes | str) -> Reply:
    return Reply(code, text.decode(errors="replace") if isinstance(text, bytes) else text)


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, greeted (and, as configured, encrypted and logged-in) session."""
    if settings.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.user:
            client.login(settings.user, settings.password)
    except BaseException:
        client.close()
        raise
    return client


def _transaction(client: smtplib.SMTP, sender: str, recipients: list[str], raw: bytes, replies: dict) -> None:
    code, text = client.mail(sender)
    if code != 250:
        replies.update(dict.fromkeys(recipients, _reply(code, text)))
        client.rset()
        return
    accepted = []
    for recipient in recipients:
        code, text = client.rcpt(recipient)
        if code == 421:  # the relay is closing: nobody else gets an answer now
            replies.update({r: _reply(code, text) for r in recipients if r not in replies})
            return
        if code in (250, 251):
            accepted.append(recipient)
        else:
            replies[recipient] = _reply(code, text)
    if not accepted:
        client.rset()
        return
    try:
        code, text = client.data(raw)
    except smtplib.SMTPDataError as error:  # DATA itself refused (no 354)
        code, text = error.smtp_code, error.smtp_error
    replies.update(dict.fromkeys(accepted, _reply(code, text)))


class _KeptSession(threading.local):
    client: smtplib.SMTP | None = None
    settings: SmtpSettings | None = None
    last_used: float = 0.0
    messages: int = 0

    def take(self, settings: SmtpSettings) -> smtplib.SMTP | None:
        """The thread's open session to ``settings``, if it is fresh and still answers; else None."""
        client, self.client = self.client, None
        if client is None:
            return None
        fresh = (
            self.settings == settings
            and time.monotonic() - self.last_used < REUSE_IDLE
            and self.messages < REUSE_MAX_MESSAGES
        )
        if fresh:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                if client.noop()[0] == 250:
                    return client
        _close(client)
        return None

    def keep(self, client: smtplib.SMTP, settings: SmtpSettings, reused: bool) -> None:
        self.messages = self.messages + 1 if reused else 1
        self.client, self.settings, self.last_used = client, settings, time.monotonic()


_kept = _KeptSession()


def _close(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    client.close()


def relay(settings: SmtpSettings, sender: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
    """Each recipient's reply; never raises for the relay's behaviour."""
    client = _kept.take(settings)
    reused = client is not None
    if client is None:
        try:
            client = connect(settings)
        except (OSError, smtplib.SMTPException) as error:
            # A refused login or STARTTLS is our configuration, not the
            # recipients' fault: retried (and logged), never failed at once.
            reason = Reply(None, f"cannot use the relay {settings.describe()}: {describe(error)}")
            return dict.fromkeys(recipients, reason)
    replies: dict[str, Reply] = {}
    try:
        _transaction(client, sender, recipients, raw, replies)
    except (OSError, smtplib.SMTPException) as error:
        lost = Reply(None, f"connection to {settings.describe()} lost: {describe(error)}")
        for recipient in recipients:
            replies.setdefault(recipient, lost)
        client.close()
        return replies
    if any(reply.code == 421 for reply in replies.values()):  # the relay is closing the session
        _close(client)
    else:
        _kept.keep(client, settings, reused)
    return replies
