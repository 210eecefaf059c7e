"""What intake refuses, before anything is stored."""

from __future__ import annotations

import pytest

from core.mda.inbound import (
    IntakeError,
    MessageTooLarge,
    check_message,
    check_recipients,
    max_size,
)
from core.runtime.config import DEFAULT_INBOUND_MAX_SIZE as DEFAULT_MAX_SIZE
from core.runtime.config import ConfigError


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", DEFAULT_MAX_SIZE), ("1000", 1000), ("10K", 10 * 1024), ("50MB", 50 * 1024**2), ("1g", 1024**3)],
)
def test_inbound_max_size_accepts_bytes_and_binary_units(value, expected):
    assert max_size({"INBOUND_MAX_SIZE": value}) == expected


@pytest.mark.parametrize("value", ["abc", "-5", "0", "10 parsecs", "1.5M"])
def test_malformed_inbound_max_size_names_the_variable(value):
    with pytest.raises(ConfigError, match="INBOUND_MAX_SIZE"):
        max_size({"INBOUND_MAX_SIZE": value})


def test_empty_message_is_refused():
    with pytest.raises(IntakeError, match="empty"):
        check_message(b"\r\n  \r\n", 100)


def test_oversized_message_is_refused_with_both_sizes():
    with pytest.raises(MessageTooLarge, match="101 bytes.*100 bytes"):
        check_message(b"x" * 101, 100)


def test_no_recipient_is_refused():
    with pytest.raises(IntakeError, match="no recipient"):
        check_recipients(["", "  "])


def test_something_that_is_not_an_address_is_refused_by_name():
    with pytest.raises(IntakeError, match="'not-an-address'"):
        check_recipients(["alice@example.org", "not-an-address"])


def test_recipients_keep_their_case_and_lose_surrounding_blanks():
    assert check_recipients([" Alice@Example.org "]) == ["Alice@Example.org"]
