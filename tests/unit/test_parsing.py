"""Parsing never raises: every malformed input becomes best-effort fields."""

from __future__ import annotations

import pytest

from core.mda.parsing import MAX_MESSAGE_ID, normalize_subject, parse_message
from tests import mail_samples


def test_rfc2047_subject_and_plain_body_are_decoded():
    raw = mail_samples.simple(subject="Caf\u00e9 \u2615", body="Bonjour \u00e0 tous")
    parsed = parse_message(raw)
    assert parsed.subject == "Caf\u00e9 \u2615"
    assert parsed.text.strip() == "Bonjour \u00e0 tous"
    assert parsed.message_id == "lunch-1@example.org"
    assert parsed.date.isoformat() == "2026-12-03T10:00:00+00:00"


def test_plain_text_is_preferred_and_attachments_are_listed():
    parsed = parse_message(mail_samples.with_attachment())
    assert parsed.text.strip() == "See attached."
    assert [(a.name, a.type, a.size) for a in parsed.attachments] == [("report.pdf", "application/pdf", 1300)]


def test_html_only_body_becomes_readable_text_without_scripts_or_styles():
    parsed = parse_message(mail_samples.html_only())
    assert parsed.text == "Hello world\n\nSecond"
    assert parsed.snippet == "Hello world Second"


def test_binary_garbage_has_no_headers_and_does_not_raise():
    parsed = parse_message(mail_samples.BINARY_GARBAGE)
    assert parsed.has_headers is False
    assert "\x00" not in parsed.text


def test_headers_only_message_has_an_empty_body():
    parsed = parse_message(mail_samples.HEADERS_ONLY)
    assert (parsed.subject, parsed.text, parsed.attachments) == ("Nothing below", "", [])


def test_missing_message_id_is_derived_stably_from_the_content():
    first = parse_message(mail_samples.NO_MESSAGE_ID)
    # The same message after one more MTA hop: a new Received line, same content.
    relayed = parse_message(b"Received: from mx2 by mx1; Thu, 3 Dec 2026\r\n" + mail_samples.NO_MESSAGE_ID)
    other = parse_message(mail_samples.NO_MESSAGE_ID.replace(b"body", b"another body"))
    assert first.message_id.startswith("derived-")
    assert first.message_id == relayed.message_id != other.message_id


def test_raw_8bit_headers_are_decoded_as_utf8_or_windows_1252():
    parsed = parse_message(mail_samples.RAW_8BIT_HEADERS)
    assert parsed.sender == "Jos\u00e9 <jose@example.org>"
    assert parsed.subject == "Caf\u00e9 cr\u00e8me"


def test_broken_mime_boundary_keeps_the_text_that_is_there():
    parsed = parse_message(mail_samples.BROKEN_BOUNDARY)
    assert "the text that survived" in parsed.text


def test_nested_message_is_one_attachment_and_not_the_body():
    parsed = parse_message(mail_samples.NESTED_RFC822)
    assert parsed.text.strip() == "Forwarding this."
    assert [(a.name, a.type) for a in parsed.attachments] == [("Original.eml", "message/rfc822")]
    assert parsed.attachments[0].size > 0


def test_unknown_charset_falls_back_to_utf8():
    parsed = parse_message(mail_samples.UNKNOWN_CHARSET)
    assert parsed.text.strip() == "Gr\u00fc\u00dfe"
    assert parsed.subject  # best effort, never an exception


def test_a_header_with_thousands_of_addresses_is_kept_whole():
    parsed = parse_message(mail_samples.many_addresses(5000))
    assert parsed.to.count("@example.org") == 5000


def test_nul_bytes_never_reach_the_database():
    parsed = parse_message(mail_samples.simple(body="a\x00b").replace(b"Lunch", b"Lu\x00nch", 1))
    assert "\x00" not in parsed.text + parsed.subject


def test_overlong_message_id_is_replaced_by_a_bounded_digest():
    parsed = parse_message(mail_samples.simple(message_id=f"<{'x' * 1000}@example.org>"))
    assert len(parsed.message_id) <= MAX_MESSAGE_ID


def test_references_and_in_reply_to_are_read_without_brackets():
    parsed = parse_message(mail_samples.simple(in_reply_to="<a@x>", references="<root@x> <a@x>"))
    assert parsed.in_reply_to == "a@x"
    assert parsed.references == ["root@x", "a@x"]


@pytest.mark.parametrize(
    ("subject", "normalized"),
    [("Re: Lunch", "lunch"), ("RE: Fwd: lunch ", "lunch"), ("AW: Re[2]: Lunch", "lunch"), ("Lunch", "lunch"), ("", "")],
)
def test_reply_and_forward_prefixes_do_not_change_the_normalized_subject(subject, normalized):
    assert normalize_subject(subject) == normalized
