"""The selfcheck names the leg that failed, records it, and leaves no test mail behind.

Its success, through ``python worker.py``, is in tests/acceptance/test_outbound_end_to_end.py.
"""

from prometheus_client import REGISTRY

from core.mda.dev_relay import build_relay
from core.mda.outbound_settings import SmtpSettings
from core.mda.selfcheck import run_selfcheck
from core.models import InboundMessage, Mailbox, Message, SelfcheckResult
from tests.smtp_servers import closed_port_settings
from tests.support import free_port

ADDRESS = "selfcheck@mail.example.org"


def failures(leg: str) -> float:
    return REGISTRY.get_sample_value("worker_selfcheck_total", {"result": leg}) or 0.0


def test_a_relay_that_is_down_fails_the_send_leg(db, broker):
    before = failures("send")
    result = run_selfcheck(closed_port_settings(), ADDRESS, timeout=5)
    assert SelfcheckResult.objects.get() == result
    assert not result.success and result.failed_leg == "send"
    assert "did not accept it" in result.error and "Connection refused" in result.error
    assert failures("send") == before + 1
    assert REGISTRY.get_sample_value("worker_selfcheck_success") == 0
    # The selfcheck mailbox is made on first use.
    assert Mailbox.objects.filter(address=ADDRESS).exists()


def test_mail_the_relay_takes_but_never_hands_to_intake_fails_the_relay_leg(db, broker, smtp_server):
    result = run_selfcheck(smtp_server.settings, ADDRESS, timeout=1)
    assert not result.success and result.failed_leg == "relay"
    assert result.send_seconds is not None and "did not reach inbound intake within 1s" in result.error
    assert b"Selfcheck token" in smtp_server.handler.received[0].content


def test_mail_that_reaches_intake_but_not_the_mailbox_fails_the_inbound_leg(db, broker):
    port = free_port()
    relay = build_relay("127.0.0.1", port, None, 1024 * 1024)
    relay.start()
    try:  # no worker runs here, so inbound processing never happens
        result = run_selfcheck(SmtpSettings(host="127.0.0.1", port=port, timeout=5), ADDRESS, timeout=1)
    finally:
        relay.stop()
    [row] = InboundMessage.objects.all()
    assert not result.success and result.failed_leg == "inbound"
    assert result.error.startswith(f"it reached intake (inbound message {row.pk}, pending)")
    assert Message.objects.count() == 0
