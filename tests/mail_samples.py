"""Raw messages, good and bad, as an MTA might hand them over."""

from __future__ import annotations

from email.message import EmailMessage


def simple(
    *,
    to: str = "alice@example.org",
    subject: str = "Lunch",
    body: str = "Lunch at noon?",
    message_id: str | None = "<lunch-1@example.org>",
    in_reply_to: str | None = None,
    references: str | None = None,
    sender: str = "Bob <bob@example.org>",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    return msg.as_bytes()


def with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "bob@example.org"
    msg["To"] = "alice@example.org"
    msg["Subject"] = "Report"
    msg["Message-ID"] = "<report@example.org>"
    msg.set_content("See attached.")
    msg.add_alternative("<p>See <b>attached</b>.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 fake" * 100, maintype="application", subtype="pdf", filename="report.pdf")
    return msg.as_bytes()


def html_only() -> bytes:
    return (
        b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: News\r\nMessage-ID: <news@example.org>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;<b>world</b></p>"
        b"<script>alert(1)</script><p>Second</p></body></html>\r\n"
    )


BINARY_GARBAGE = bytes(range(256)) * 8

HEADERS_ONLY = b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: Nothing below\r\n"

NO_MESSAGE_ID = (
    b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: No id\r\n"
    b"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n"
)

#: UTF-8 in one header, Latin-1 in another, no RFC 2047 anywhere.
RAW_8BIT_HEADERS = (
    b"From: Jos\xc3\xa9 <jose@example.org>\r\nTo: alice@example.org\r\nSubject: Caf\xe9 cr\xe8me\r\n"
    b"Message-ID: <8bit@example.org>\r\n\r\nCorps\r\n"
)

BROKEN_BOUNDARY = (
    b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: Broken\r\nMessage-ID: <broken@example.org>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
    b"--ABC\r\nContent-Type: text/plain\r\n\r\nthe text that survived\r\n--ABC--\r\n"
)

NESTED_RFC822 = (
    b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: Fwd: Original\r\nMessage-ID: <fwd@example.org>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
    b"--OUT\r\nContent-Type: text/plain\r\n\r\nForwarding this.\r\n"
    b"--OUT\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: carol@example.org\r\nSubject: Original\r\nMessage-ID: <orig@example.org>\r\n\r\nInner body\r\n"
    b"--OUT--\r\n"
)

UNKNOWN_CHARSET = (
    b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: =?x-unknown?q?Hi?=\r\n"
    b"Message-ID: <charset@example.org>\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\n"
    b"Gr\xc3\xbc\xc3\x9fe\r\n"
)


def many_addresses(count: int = 5000) -> bytes:
    to = ", ".join(f"user{i}@example.org" for i in range(count))
    return (
        f"From: bob@example.org\r\nTo: {to}\r\nSubject: Everyone\r\nMessage-ID: <many@example.org>\r\n\r\nHi all\r\n"
    ).encode()
