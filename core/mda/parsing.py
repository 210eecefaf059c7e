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
_RAW_BYTE = re.compile("[\udc80-\udcff]")
_FOLDING = re.compile(r"\r?\n(?=[ \t])")


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
    return _RAW_BYTE.search(value) is not None


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
    """One header as text, RFC 2047 words decoded; never raises.

    Decoded from the raw value with ``email.header`` rather than through the
    modern policy's header registry: that parses address lists in pure
    Python (~0.2 ms an address, a second for a To: of 5000) to give back the
    same text we store.
    """
    raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    raw = _FOLDING.sub("", raw)
    if _has_raw_bytes(raw):  # raw 8-bit: not RFC 2047 at all; guess UTF-8, else Windows-1252
        return clean_text(raw).strip()
    try:
        return clean_text(str(email.header.make_header(email.header.decode_header(raw)))).strip()
    except Exception:  # noqa: BLE001 - unknown charset, bad encoding
        return clean_text(raw).strip()


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


@dataclass
class _Part:
    """A leaf part with its Content-Type and Content-Disposition parsed once (each parse is costly)."""

    msg: Message
    type: str
    params: dict
    disposition: str
    filename: str


def _leaf(msg: Message, ctype: str) -> _Part:
    params, disposition, filename = {}, "", ""
    try:
        header = msg.get("content-type")
        params = dict(getattr(header, "params", {}) or {})
        cd = msg.get("content-disposition")
        if cd is not None:
            disposition = (getattr(cd, "content_disposition", "") or "").lower()
            filename = (getattr(cd, "params", {}) or {}).get("filename", "")
    except Exception:  # noqa: BLE001 - broken parameters: no name, no charset
        pass
    return _Part(msg, ctype, params, disposition, clean_text(str(filename or params.get("name") or "")))


def _decode_part(part: _Part) -> str:
    """A text part's content: its declared charset, else UTF-8, else Windows-1252; never raises."""
    payload = part.msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.msg.get_payload()).encode("utf-8", "surrogateescape")
    for charset in (part.params.get("charset"), "utf-8"):
        if not charset:
            continue
        try:
            return clean_text(payload.decode(str(charset)))
        except (LookupError, UnicodeDecodeError):
            continue
    return clean_text(payload.decode("cp1252", "replace"))


def _forwarded_name(msg: Message) -> str:
    inner = msg.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
    return f"{subject or 'message'}.eml"


def _walk(msg: Message, body: list[_Part], attachments: list[Attachment]) -> None:
    """Pick body parts and attachments; a forwarded message is one attachment, not walked into."""
    ctype = _safe(msg.get_content_type, "application/octet-stream")
    if ctype == "message/rfc822":
        size = _safe(lambda: len(msg.as_bytes()), 0)
        attachments.append(Attachment(_forwarded_name(msg), ctype, size))
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            _walk(sub, body, attachments)
        return
    part = _leaf(msg, ctype)
    if ctype.startswith("multipart/"):
        # The boundary never appeared: the parts are unreadable, their text is not.
        body.append(_Part(msg, "text/plain", part.params, "", ""))
        return
    if ctype in ("text/plain", "text/html") and part.disposition != "attachment" and not part.filename:
        body.append(part)
        return
    payload = _safe(lambda: msg.get_payload(decode=True), b"")
    attachments.append(Attachment(part.filename, ctype, len(payload) if isinstance(payload, bytes) else 0))


def _safe(fn, default):
    try:
        return fn()
    except Exception:  # noqa: BLE001
        return default


def _body_text(parts: list[_Part]) -> str:
    """text/plain when there is one, else the text of the HTML."""
    plain = [p for p in parts if p.type == "text/plain"]
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
    body: list[_Part] = []
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
