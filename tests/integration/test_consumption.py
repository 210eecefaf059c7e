"""Which worker consumes what, and in which order: real Redis, real database,
real ``python worker.py`` processes."""

import time

import pytest

from core.queues import QUEUE_NAMES
from tests.probes import PROBES
from tests.support import queue_length, release, reports, tokens, wait_for_tokens, wait_until

#: Longer than the slowest idle poll (1 s), so a worker that would take a
#: message has had its chance.
POLL_WINDOW = 2.0


@pytest.fixture
def start_worker(workers):
    return lambda *args, **kwargs: workers(*args, "--disable-scheduler", **kwargs)


def send_one_to_each_queue():
    for queue, probe in PROBES.items():
        probe.send(f"to-{queue}")


@pytest.mark.parametrize("queue", QUEUE_NAMES)
def test_a_worker_consumes_only_the_queue_it_was_started_with(broker, start_worker, queue):
    worker = start_worker(f"--queues={queue}", "-c", "1")
    worker.wait_ready(1)
    send_one_to_each_queue()

    done = wait_for_tokens(broker, "done", {f"to-{queue}"})
    time.sleep(POLL_WINDOW)

    assert tokens(broker, "done") == [f"to-{queue}"]
    assert done[0]["queue"] == queue
    for other in QUEUE_NAMES:
        if other != queue:
            assert queue_length(broker, other) == 1, f"{other} was consumed by a worker on {queue}"


def test_excluded_queues_are_not_consumed(broker, start_worker):
    worker = start_worker("--exclude=reindex,imports", "-c", "1")
    worker.wait_ready(1)
    send_one_to_each_queue()

    wanted = {f"to-{q}" for q in ("management", "inbound", "outbound", "default")}
    wait_for_tokens(broker, "done", wanted)
    time.sleep(POLL_WINDOW)

    assert set(tokens(broker, "done")) == wanted
    assert queue_length(broker, "reindex") == 1
    assert queue_length(broker, "imports") == 1


def test_a_process_holding_an_imports_message_runs_an_inbound_message_first(broker, start_worker):
    # Given a one-thread worker busy with a task
    worker = start_worker("-c", "1", "--threads", "1")
    worker.wait_ready(1)
    PROBES["default"].send("blocker", block=True)
    wait_for_tokens(broker, "started", {"blocker"})

    # When an imports message and then an inbound message arrive and both are fetched
    PROBES["imports"].send("import")
    PROBES["inbound"].send("mail")
    wait_until(
        lambda: queue_length(broker, "imports") == 0 and queue_length(broker, "inbound") == 0,
        10,
        what="both messages fetched by the busy process",
    )
    release(broker, "blocker")

    # Then the inbound message runs before the imports message that came first
    wait_for_tokens(broker, "done", {"blocker", "mail", "import"})
    assert tokens(broker, "started") == ["blocker", "mail", "import"]
    assert len({r["pid"] for r in reports(broker, "done")}) == 1


def test_a_busy_process_leaves_urgent_mail_to_an_idle_one(broker, start_worker):
    # Given two one-thread processes, one of them busy with a long task
    worker = start_worker("-c", "2", "--threads", "1", "--queues=inbound,default")
    worker.wait_ready(2)
    PROBES["default"].send("long", block=True)
    [busy] = wait_for_tokens(broker, "started", {"long"})

    # When mail arrives
    for i in range(3):
        PROBES["inbound"].send(f"mail-{i}")

    # Then the idle process runs it while the long task still runs; the busy
    # one holds at most one message, to run the moment its thread frees up
    wait_until(lambda: len(tokens(broker, "done")) >= 2, 10, what="two mails done")
    time.sleep(POLL_WINDOW)
    done = reports(broker, "done")
    assert "long" not in tokens(broker, "done")
    assert len(done) >= 2
    assert all(r["pid"] != busy["pid"] for r in done)
    release(broker, "long")
    wait_for_tokens(broker, "done", {"long", "mail-0", "mail-1", "mail-2"})
