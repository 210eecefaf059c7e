"""Outbound settings: the SMTP relay and the selfcheck, read from the environment.

Functions of the environment, like ``core.runtime.config``: a set but bad
value raises ``ConfigError`` naming its variable (``worker.py`` checks them
all at start), never a silent default.  No Django here: ``worker.py``
validates before Django is loaded.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.runtime.config import ConfigError

SECURITY_MODES = ("none", "starttls", "tls")
#: With ``SMTP_HOST`` unset the worker talks to the development relay
#: (``manage.py smtp_relay``), so the embedded default works with no MTA.
DEV_RELAY_HOST = "127.0.0.1"
DEV_RELAY_PORT = 2525
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_SMTP_TIMEOUT = 30.0
#: Each SMTP command may wait this long; the send task must still end
#: within its 5-minute bound.
MAX_SMTP_TIMEOUT = 120.0
DEFAULT_SELFCHECK_TIMEOUT = 60.0
#: The selfcheck task's own time limit leaves room for the send above.
MAX_SELFCHECK_TIMEOUT = 600.0
DEFAULT_SELFCHECK_ADDRESS = "selfcheck@localhost.localdomain"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = DEV_RELAY_HOST
    port: int = DEV_RELAY_PORT
    security: str = "none"
    user: str = ""
    password: str = ""
    timeout: float = DEFAULT_SMTP_TIMEOUT

    def describe(self) -> str:
        return f"{self.host}:{self.port}" + ("" if self.security == "none" else f" ({self.security})")


def _value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def seconds(env: Mapping[str, str], name: str, default: float, maximum: float) -> float:
    raw = _value(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number of seconds") from None
    if not 0 < value <= maximum:
        raise ConfigError(name, f"{raw!r} must be more than 0 and at most {maximum:g} seconds")
    return value


def _port(raw: str, name: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(name, f"{raw!r} is not a port number (1-65535)")
    return port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smtp_settings(env: Mapping[str, str] = os.environ) -> SmtpSettings:
    security = _value(env, "SMTP_SECURITY").lower() or "none"
    if security not in SECURITY_MODES:
        raise ConfigError("SMTP_SECURITY", f"{env['SMTP_SECURITY']!r} is not one of {', '.join(SECURITY_MODES)}")
    host = _value(env, "SMTP_HOST")
    if "://" in host or any(c.isspace() for c in host):
        raise ConfigError("SMTP_HOST", f"{host!r} is not a host name (give the name or address alone)")
    raw_port = _value(env, "SMTP_PORT")
    default_port = DEFAULT_PORTS[security] if host else DEV_RELAY_PORT
    port = _port(raw_port, "SMTP_PORT") if raw_port else default_port
    host = host or DEV_RELAY_HOST
    user, password = _value(env, "SMTP_USER"), env.get("SMTP_PASSWORD", "")
    if user and not password:
        raise ConfigError("SMTP_PASSWORD", "must be set when SMTP_USER is")
    if password and not user:
        raise ConfigError("SMTP_USER", "must be set when SMTP_PASSWORD is")
    if user and security == "none" and not _is_loopback(host):
        raise ConfigError(
            "SMTP_SECURITY", f"'none' would send SMTP_PASSWORD in clear text to {host}; use starttls or tls"
        )
    timeout = seconds(env, "SMTP_TIMEOUT", DEFAULT_SMTP_TIMEOUT, MAX_SMTP_TIMEOUT)
    return SmtpSettings(host, port, security, user, password, timeout)


def selfcheck_timeout(env: Mapping[str, str] = os.environ) -> float:
    return seconds(env, "SELFCHECK_TIMEOUT", DEFAULT_SELFCHECK_TIMEOUT, MAX_SELFCHECK_TIMEOUT)


def selfcheck_address(env: Mapping[str, str] = os.environ) -> str:
    from core.mda.addresses import AddressError, parse_address

    raw = _value(env, "SELFCHECK_ADDRESS")
    if not raw:
        return DEFAULT_SELFCHECK_ADDRESS
    try:
        address = parse_address(raw, "SELFCHECK_ADDRESS")
    except AddressError as error:
        raise ConfigError("SELFCHECK_ADDRESS", str(error).removeprefix("SELFCHECK_ADDRESS: ")) from None
    return address.addr_spec


def check_outbound_settings(env: Mapping[str, str]) -> None:
    """Every outbound setting, so a bad one stops ``worker.py`` at start."""
    smtp_settings(env)
    selfcheck_timeout(env)
    selfcheck_address(env)
