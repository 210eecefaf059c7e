"""Outbound mail and the selfcheck with ``python worker.py`` running and the development relay
(``manage.py smtp_relay``) between them and the world, as on a laptop with no MTA."""

import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from core.mda.outbound import send
from core.mda.outbound_tasks import system_selfcheck
from core.models import InboundMessage, Mailbox, Message, OutboundRecipient, SelfcheckResult
from tests.support import PROJECT_DIR, free_port, wait_until


@pytest.fixture
def dev_relay():
    """``manage.py smtp_relay`` as a subprocess; yields (port, start(upstream))."""
    started = []

    def start(upstream: str) -> int:
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="relay-", suffix=".log", delete=False)  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "manage.py", "smtp_relay", "--port", str(port), "--upstream", upstream],
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        output = Path(log.name)
        wait_until(lambda: "listening" in output.read_text() or process.poll() is not None, 30, what="the relay")
        assert process.poll() is None, output.read_text()
        return port

    yield start
    for process, log in started:
        process.terminate()
        process.wait(10)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def test_mail_goes_out_through_the_relay_and_the_selfcheck_comes_back_in(broker, db, workers, dev_relay, smtp_server):
    relay_port = dev_relay(upstream=f"127.0.0.1:{smtp_server.port}")
    metrics_port = free_port()
    worker = workers(
        "-c",
        "1",
        "--disable-scheduler",
        env={"SMTP_PORT": str(relay_port), "SELFCHECK_TIMEOUT": "30", "WORKER_METRICS_PORT": str(metrics_port)},
    )
    worker.wait_ready(1)

    # Outbound: send() -> the outbound queue -> the worker -> the relay -> upstream.
    row = send("Sender <sender@example.org>", "bob@elsewhere.example", "Hello", "Hi Bob\n")
    wait_until(lambda: smtp_server.handler.received, 30, what="the message upstream")
    assert smtp_server.handler.received[0].recipients == ["bob@elsewhere.example"]
    wait_until(lambda: row.recipients.get().status == OutboundRecipient.Status.SENT, 10, what="the recipient sent")

    # The selfcheck: out through the relay, back through intake and inbound processing.
    started = timezone.now()
    system_selfcheck.send()
    result = wait_until(lambda: SelfcheckResult.objects.filter(started_at__gte=started).first(), 60, what="a result")
    assert result.success, result.error
    assert result.failed_leg == "" and 0 < result.send_seconds <= result.round_trip_seconds < 30
    mailbox = Mailbox.objects.get(address="selfcheck@localhost.localdomain")
    assert not Message.objects.filter(mailbox=mailbox).exists()  # cleaned up
    assert not InboundMessage.objects.exists()
    worker.wait_for_output("selfcheck succeeded: round trip")

    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert "worker_selfcheck_success 1.0" in metrics
    assert 'worker_selfcheck_total{result="success"} 1.0' in metrics
    assert 'worker_outbound_recipients_total{outcome="sent"} 1.0' in metrics
