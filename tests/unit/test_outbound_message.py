"""The MIME message ``send`` builds: headers encoded, Bcc kept out, attachments, and the retry schedule."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from core.mda.outbound import OutboundError, build_message
from core.mda.outbound_state import MAX_LIFETIME, outcome, retry_delay
from core.mda.smtp_client import Reply
from core.models import OutboundMessage, OutboundRecipient

DATE = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def parsed(built):
    return message_from_bytes(built.raw, policy=policy.default)


def test_headers_are_encoded_and_bcc_is_only_in_the_envelope():
    built = build_message(
        "Zoë Example <zoe@exämple.org>",
        ["Bob <bob@example.org>", "BOB@example.org"],
        "Grüße aus Köln",
        "Hällo\n",
        cc="carol@example.org",
        bcc=["hidden@example.org"],
        date=DATE,
    )
    assert built.raw.isascii() and b"\r\n" in built.raw
    msg = parsed(built)
    assert msg["Subject"] == "Grüße aus Köln" and b"=?utf-8?" in built.raw
    assert msg["From"] == "Zoë Example <zoe@xn--exmple-cua.org>"
    assert msg["To"] == "Bob <bob@example.org>, BOB@example.org" and msg["Cc"] == "carol@example.org"
    assert msg["Bcc"] is None and b"hidden" not in built.raw
    assert msg["Date"] == "Thu, 03 Dec 2026 14:00:00 +0000"
    assert msg["Message-ID"] == f"<{built.message_id}>" and built.message_id.endswith("@xn--exmple-cua.org")
    assert built.sender == "zoe@xn--exmple-cua.org"
    assert built.recipients == ["bob@example.org", "carol@example.org", "hidden@example.org"]
    assert msg.get_content().replace("\r\n", "\n") == "Hällo\n"


def test_html_alternative_and_attachments():
    built = build_message(
        "a@example.org",
        "b@example.org",
        "Report",
        "See attached.",
        html="<p>See <b>attached</b>.</p>",
        attachments=[("report.pdf", "application/pdf", b"%PDF-1.4\x00\xff"), ("notes.txt", "text/plain", b"hi")],
    )
    msg = parsed(built)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("html",)).get_content().strip() == "<p>See <b>attached</b>.</p>"
    files = {a.get_filename(): (a.get_content_type(), a.get_content()) for a in msg.iter_attachments()}
    assert files["report.pdf"] == ("application/pdf", b"%PDF-1.4\x00\xff")
    assert files["notes.txt"][0] == "text/plain"


@pytest.mark.parametrize(
    "options, error",
    [
        ({"subject": "two\nlines"}, "subject: must be text on one line"),
        ({"attachments": [("a.bin", "application/octet-stream")]}, "attachments: ('a.bin', "),
        ({"attachments": [("", "text/plain", b"x")]}, "attachments: '' is not a file name"),
        ({"attachments": [("a.txt", "text/plain", "text")]}, "attachments: the content of 'a.txt' is str, not bytes"),
        ({"to": ["ü@example.org"]}, "to: 'ü@example.org' is not a valid address"),
        ({"to": ["Bob\nSmith <bob@example.org>"]}, "to: 'Bob\\nSmith <bob@example.org>' has a line break"),
        ({"to": [None]}, "to: None is not an address"),
    ],
)
def test_bad_input_is_refused_naming_the_field(options, error):
    values = {"to": ["b@example.org"], "subject": "s", **options}
    with pytest.raises(OutboundError) as raised:
        build_message("a@example.org", values.pop("to"), values.pop("subject"), "text", **values)
    assert str(raised.value).startswith(error)


def test_retries_start_at_minutes_and_grow_to_hours():
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert delays[-1] == timedelta(hours=6) and delays == sorted(delays)


def test_a_deferral_is_retried_for_about_two_days_then_failed():
    created = DATE
    message = OutboundMessage(created_at=created)
    recipient = OutboundRecipient(attempts=0)
    now, attempts = created, 0
    while True:
        fields = outcome(message, recipient, Reply(451, "4.3.0 later"), now)
        attempts += 1
        if fields["status"] != "retry":
            break
        recipient.attempts, now = fields["attempts"], fields["next_attempt_at"]
    assert fields["status"] == "failed" and fields["last_reply"].startswith(f"gave up after {attempts} attempts")
    assert timedelta(days=1, hours=18) < now - created <= MAX_LIFETIME
    assert 10 <= attempts <= 16
