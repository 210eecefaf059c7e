"""Mail addresses as people type them, checked before anything is stored or sent.

``email-validator`` does the checking (RFC 5321/5322 syntax, internationalized
domains, length limits); this module turns its verdict into our error and
into the stdlib's ``Address``, in the ASCII form every relay accepts.
"""

from __future__ import annotations

from email.headerregistry import Address

from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """Not an address we can send to; the text names the field and says why."""


def _split(value: str) -> tuple[str, str]:
    """``Name <addr>`` into its display name (any characters) and the address."""
    value = value.strip()
    if value.endswith(">") and "<" in value:
        name, _, address = value[:-1].rpartition("<")
        name = name.strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('\\"', '"')
        return name, address.strip()
    return "", value


def parse_address(value: object, field: str) -> Address:
    """``alice@example.org`` or ``Alice <alice@example.org>``; raises ``AddressError``."""
    if not isinstance(value, str) or not value.strip():
        raise AddressError(f"{field}: {value!r} is not an address")
    name, address = _split(value)
    if any(c in name for c in "\r\n\0"):
        raise AddressError(f"{field}: {value!r} has a line break in its name")
    try:
        # No DNS look-up: sending must not wait on it, and the relay decides.
        # SMTPUTF8 (non-ASCII before the @) is refused: few relays accept it.
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise AddressError(f"{field}: {value!r} is not a valid address: {error}") from None
    local, domain = checked.ascii_email.rsplit("@", 1)
    return Address(display_name=name, username=local, domain=domain)


def parse_addresses(values: object, field: str) -> list[Address]:
    """A list of addresses (a lone string counts as one)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [parse_address(v, field) for v in values]  # type: ignore[union-attr]
