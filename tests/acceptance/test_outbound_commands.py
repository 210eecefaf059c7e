"""``manage.py send`` and ``manage.py smtp_relay`` as an operator runs them: clear errors, no traceback."""

import os
import socket
import subprocess
import sys

import pytest

from core.models import OutboundMessage
from tests.support import PROJECT_DIR, queue_length


def manage(*args, env=None, input_bytes=b""):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        input=input_bytes,
        capture_output=True,
        timeout=60,
    )
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_send_queues_a_message_with_an_attachment(broker, db, tmp_path):
    attachment = tmp_path / "report.pdf"
    attachment.write_bytes(b"%PDF-1.4")
    result = manage(
        "send", "--from", "Ann <ann@example.org>", "--to", "bob@example.org", "--bcc", "eve@example.org",
        "--subject", "Report", "--text-file", "-", "--attach", str(attachment),
        input_bytes="Hällo\n".encode(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = OutboundMessage.objects.get()
    assert result.stdout.strip() == f"queued outbound message {row.pk} <{row.message_id}> for 2 recipient(s)"
    assert b'filename="report.pdf"' in bytes(row.raw) and b"Content-Type: application/pdf" in bytes(row.raw)
    assert queue_length(broker, "outbound") == 1


@pytest.mark.parametrize(
    "args, status, error",
    [
        (["--from", "ann@example.org", "--to", "bob@"], 64, "to: 'bob@' is not a valid address"),
        (["--to", "bob@example.org"], 64, "no sender: give --from ADDR"),
        (
            ["--from", "ann@example.org", "--to", "bob@example.org", "--attach", "/no/such/file.pdf"],
            66,
            "cannot read the attachment /no/such/file.pdf",
        ),
    ],
)
def test_send_refuses_bad_input_with_its_exit_status_and_stores_nothing(broker, db, args, status, error):
    result = manage("send", "--subject", "x", "--text", "x", *args)
    assert result.returncode == status
    assert error in result.stderr
    assert OutboundMessage.objects.count() == 0 and queue_length(broker, "outbound") == 0


def test_the_relay_on_a_taken_port_stops_with_one_line(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = manage("smtp_relay", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_bad_upstream_is_refused_naming_where_it_came_from(db):
    result = manage("smtp_relay", env={"SMTP_RELAY_UPSTREAM": "smtp.example.org:port"})
    assert result.returncode == 78
    assert "SMTP_RELAY_UPSTREAM: 'smtp.example.org:port' is not HOST or HOST:PORT" in result.stderr
