"""SMTP and selfcheck settings: defaults that reach the development relay, and every bad value named."""

import pytest

from core.mda.outbound_settings import (
    DEFAULT_SELFCHECK_ADDRESS,
    SmtpSettings,
    selfcheck_address,
    selfcheck_timeout,
    smtp_settings,
)
from core.runtime.config import ConfigError, resolve_config


def test_unset_means_the_development_relay_on_this_machine():
    assert smtp_settings({}) == SmtpSettings(host="127.0.0.1", port=2525, security="none", timeout=30.0)
    assert selfcheck_timeout({}) == 60.0
    assert selfcheck_address({}) == DEFAULT_SELFCHECK_ADDRESS


@pytest.mark.parametrize("security, port", [("none", 25), ("STARTTLS", 587), ("tls", 465)])
def test_a_relay_host_without_a_port_gets_the_port_of_its_security(security, port):
    settings = smtp_settings({"SMTP_HOST": "smtp.example.org", "SMTP_SECURITY": security})
    assert (settings.host, settings.port, settings.security) == ("smtp.example.org", port, security.lower())


def test_every_setting_is_read():
    env = {
        "SMTP_HOST": "smtp.example.org",
        "SMTP_PORT": "2587",
        "SMTP_SECURITY": "starttls",
        "SMTP_USER": "worker",
        "SMTP_PASSWORD": "s3cret",
        "SMTP_TIMEOUT": "12.5",
    }
    assert smtp_settings(env) == SmtpSettings("smtp.example.org", 2587, "starttls", "worker", "s3cret", 12.5)
    assert selfcheck_timeout({"SELFCHECK_TIMEOUT": "90"}) == 90.0
    assert selfcheck_address({"SELFCHECK_ADDRESS": "Check@Mail.Example.org"}) == "Check@mail.example.org"


@pytest.mark.parametrize(
    "env, source, text",
    [
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT", "'smtp' is not a port number"),
        ({"SMTP_PORT": "0"}, "SMTP_PORT", "'0' is not a port number (1-65535)"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT", "is not a port number"),
        ({"SMTP_HOST": "smtp://mail.example.org"}, "SMTP_HOST", "is not a host name"),
        ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY", "'ssl' is not one of none, starttls, tls"),
        ({"SMTP_TIMEOUT": "soon"}, "SMTP_TIMEOUT", "'soon' is not a number of seconds"),
        ({"SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT", "must be more than 0 and at most 120 seconds"),
        ({"SMTP_TIMEOUT": "600"}, "SMTP_TIMEOUT", "at most 120 seconds"),
        ({"SMTP_USER": "worker"}, "SMTP_PASSWORD", "must be set when SMTP_USER is"),
        ({"SMTP_PASSWORD": "s3cret"}, "SMTP_USER", "must be set when SMTP_PASSWORD is"),
        (
            {"SMTP_HOST": "smtp.example.org", "SMTP_USER": "w", "SMTP_PASSWORD": "p"},
            "SMTP_SECURITY",
            "'none' would send SMTP_PASSWORD in clear text to smtp.example.org",
        ),
        ({"SELFCHECK_TIMEOUT": "-1"}, "SELFCHECK_TIMEOUT", "must be more than 0"),
        ({"SELFCHECK_TIMEOUT": "3600"}, "SELFCHECK_TIMEOUT", "at most 600 seconds"),
        ({"SELFCHECK_ADDRESS": "selfcheck"}, "SELFCHECK_ADDRESS", "'selfcheck' is not a valid address"),
    ],
)
def test_a_bad_value_stops_the_worker_naming_its_variable(env, source, text):
    with pytest.raises(ConfigError) as error:
        resolve_config(
            queues=None, exclude=None, concurrency="1", threads=None, disable_scheduler=False, loglevel=None, env=env
        )
    assert error.value.source == source
    assert str(error.value).startswith(f"{source}: ") and text in str(error.value)


def test_a_login_over_plain_smtp_is_allowed_to_a_relay_on_this_machine():
    settings = smtp_settings({"SMTP_HOST": "localhost", "SMTP_USER": "w", "SMTP_PASSWORD": "p"})
    assert settings.user == "w" and settings.security == "none"
