"""Turn raw RFC 5322 bytes into the fields we store, whatever the sender got wrong.

The stdlib ``email`` package with the modern policy does the parsing; this
module only makes every field total: a header that does not parse, a
charset nobody knows, 8-bit bytes where ASCII belongs or a broken MIME
boundary each degrade to a best-effort string, never to an exception.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message

from core.mda.html_text import html_to_text

SNIPPET_LENGTH = 200
#: Longer Message-IDs (seen in spam and garbage) are replaced by a digest,
#: so the value always fits the column and its unique index.
MAX_MESSAGE_ID = 255
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|antw|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_MODERN_PARSE_LIMIT = 4096


@dataclass
class Attachment:
    name: str
    type: str
    size: int


@dataclass
class ParsedMessage:
    message_id: str
    subject: str
    sender: str
    to: str
    cc: str
    date: datetime | None
    in_reply_to: str
    references: list[str]
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    has_headers: bool = True

    @property
    def snippet(self) -> str:
        return _WHITESPACE.sub(" ", self.text).strip()[:SNIPPET_LENGTH]

    @property
    def normalized_subject(self) -> str:
        return normalize_subject(self.subject)


def normalize_subject(subject: str) -> str:
    """``Re: Fwd: Lunch`` and ``lunch`` are one conversation."""
    return _WHITESPACE.sub(" ", _SUBJECT_PREFIX.sub("", subject)).strip().casefold()[:255]


def _has_raw_bytes(value: str) -> bool:
    """8-bit bytes the parser could not decode arrive as lone surrogates."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def clean_text(value: str) -> str:
    """Text safe to store: 8-bit bytes smuggled as surrogates decoded, no NUL (PostgreSQL refuses it)."""
    if _has_raw_bytes(value):
        data = value.encode("utf-8", "surrogateescape")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data.decode("cp1252", "replace")
    return value.replace("\x00", "")


def _header(msg: Message, name: str) -> str:
    """One header as text: the modern policy's decoding, else RFC 2047 by hand, else the raw value."""
    raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    if _has_raw_bytes(raw):  # raw 8-bit: the policy would turn it into U+FFFD; guess UTF-8, else Windows-1252
        return clean_text(raw).strip()
    # The modern policy parses address lists in pure Python: ~0.2 ms an address,
    # a second for a To: of 5000.  A long header is only decoded.
    if len(raw) <= _MODERN_PARSE_LIMIT:
        try:
            return clean_text(str(msg.get(name)))
        except Exception:  # noqa: BLE001 - the policy's parser raises many kinds on broken headers
            pass
    try:
        return clean_text(str(email.header.make_header(email.header.decode_header(raw))))
    except Exception:  # noqa: BLE001 - unknown charset, bad encoding
        return clean_text(raw)


def _ids(value: str) -> list[str]:
    """Message-IDs in a References/In-Reply-To header, without brackets."""
    found = re.findall(r"<([^<>\s]+)>", value)
    if not found and value.strip():
        found = value.split()
    return [_bounded_id(i) for i in found if i]


def _bounded_id(value: str) -> str:
    value = value.strip().strip("<>").strip()
    if len(value) > MAX_MESSAGE_ID:
        return "sha256-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest() + "@long-id.invalid"
    return value


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _decode_part(part: Message) -> str:
    """A text part's content: its declared charset, else UTF-8, else Windows-1252; never raises."""
    try:
        return clean_text(part.get_content())
    except Exception:  # noqa: BLE001 - LookupError for unknown charsets, and worse
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    for charset in (part.get_content_charset(), "utf-8"):
        if not charset:
            continue
        try:
            return clean_text(payload.decode(charset))
        except (LookupError, UnicodeDecodeError):
            continue
    return clean_text(payload.decode("cp1252", "replace"))


def _attachment_name(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if name:
        return clean_text(str(name))
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
        return f"{subject or 'message'}.eml"
    return ""


def _part_size(part: Message) -> int:
    if part.get_content_type() == "message/rfc822":
        return len(part.as_bytes()) if hasattr(part, "as_bytes") else 0
    payload = part.get_payload(decode=True)
    return len(payload) if isinstance(payload, bytes) else 0


def _walk(msg: Message, body: list[Message], attachments: list[Attachment]) -> None:
    """Pick body parts and attachments; a forwarded message is one attachment, not walked into."""
    ctype = msg.get_content_type()
    if ctype == "message/rfc822":
        attachments.append(Attachment(_attachment_name(msg), ctype, _safe(lambda: _part_size(msg), 0)))
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            _walk(sub, body, attachments)
        return
    if msg.get_content_maintype() == "multipart":
        # The boundary never appeared: the parts are unreadable, their text is not.
        broken = EmailMessage()
        broken.set_payload(str(msg.get_payload()))
        body.append(broken)
        return
    disposition = (msg.get_content_disposition() or "").lower()
    name = _attachment_name(msg)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not name:
        body.append(msg)
        return
    attachments.append(Attachment(name, ctype, _safe(lambda: _part_size(msg), 0)))


def _safe(fn, default):
    try:
        return fn()
    except Exception:  # noqa: BLE001
        return default


def _body_text(parts: list[Message]) -> str:
    """text/plain when there is one, else the text of the HTML."""
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    if plain:
        return "\n".join(_decode_part(p) for p in plain)
    return "\n".join(html_to_text(_decode_part(p)) for p in parts)


def derived_message_id(msg: ParsedMessage, raw: bytes) -> str:
    """Stable for the same content, whatever Received lines the MTAs added."""
    basis = "\0".join([msg.sender, msg.to, msg.cc, msg.subject, msg.date.isoformat() if msg.date else "", msg.text])
    if not basis.strip("\0"):
        basis = raw.decode("latin-1")
    return "derived-" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:40] + "@inbound.invalid"


def parse_message(raw: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(raw, _class=EmailMessage, policy=policy.default)
    body: list[Message] = []
    attachments: list[Attachment] = []
    _walk(msg, body, attachments)
    references = _ids(_header(msg, "References"))
    in_reply_to = next(iter(_ids(_header(msg, "In-Reply-To"))), "")
    parsed = ParsedMessage(
        message_id="",
        subject=_header(msg, "Subject"),
        sender=_header(msg, "From"),
        to=_header(msg, "To"),
        cc=_header(msg, "Cc"),
        date=_date(_header(msg, "Date")),
        in_reply_to=in_reply_to,
        references=references,
        text=_body_text(body),
        attachments=attachments,
        has_headers=len(msg.keys()) > 0,
    )
    message_id = next(iter(_ids(_header(msg, "Message-ID"))), "")
    parsed.message_id = message_id or derived_message_id(parsed, raw)
    return parsed
