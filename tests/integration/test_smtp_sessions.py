"""The outbound client keeps its SMTP session for the next message, against a real aiosmtpd."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.mda import smtp_client
from core.mda.smtp_client import relay
from tests.smtp_servers import RunningSmtp, ScriptedSmtp
from tests.support import wait_until


@dataclass
class CountingSmtp(ScriptedSmtp):
    """Counts sessions (one EHLO each) and remembers the last one, to close it from the server side."""

    sessions: int = 0
    transports: list = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's name
        self.sessions += 1
        self.transports.append(server.transport)
        session.host_name = hostname
        return responses


@pytest.fixture
def counting_server():
    server = RunningSmtp(CountingSmtp())
    yield server
    kept = smtp_client._kept.take(server.settings)  # leave no session open into the next test
    if kept is not None:
        kept.close()
    server.stop()


def send(server: RunningSmtp, n: int) -> dict:
    return relay(server.settings, "ann@example.org", [f"bob{n}@example.org"], b"Subject: hi\r\n\r\nhello\r\n")


def test_consecutive_messages_from_one_thread_share_one_session(counting_server):
    for n in range(3):
        assert send(counting_server, n)[f"bob{n}@example.org"].accepted
    assert counting_server.handler.sessions == 1
    assert len(counting_server.handler.received) == 3


def test_a_session_the_relay_closed_while_idle_is_replaced_before_anything_is_sent(counting_server):
    assert send(counting_server, 0)["bob0@example.org"].accepted
    loop = counting_server.controller.loop
    transport = counting_server.handler.transports[-1]
    loop.call_soon_threadsafe(transport.abort)  # the relay's idle timeout
    wait_until(transport.is_closing, 5, what="the relay to close the session")

    reply = send(counting_server, 1)["bob1@example.org"]

    assert reply.accepted, reply
    assert counting_server.handler.sessions == 2
    assert [r.recipients for r in counting_server.handler.received] == [["bob0@example.org"], ["bob1@example.org"]]


def test_a_session_is_not_kept_past_its_idle_time(counting_server, monkeypatch):
    assert send(counting_server, 0)["bob0@example.org"].accepted
    monkeypatch.setattr(smtp_client, "REUSE_IDLE", 0.0)
    assert send(counting_server, 1)["bob1@example.org"].accepted
    assert counting_server.handler.sessions == 2
