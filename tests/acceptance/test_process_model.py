"""``python worker.py`` as operators run it: children, signals, crashes."""

import signal
import time

import pytest

from tests.probes import PROBES
from tests.support import (
    process_exists,
    queue_length,
    release,
    reports,
    tokens,
    wait_for_tokens,
    wait_until,
)


def test_a_killed_child_is_replaced_while_its_siblings_keep_working(broker, workers):
    worker = workers("-c", "2", "--disable-scheduler")
    worker.wait_ready(2)
    victim, sibling = worker.worker_children()

    victim_started = time.monotonic()
    import os

    os.kill(victim, signal.SIGKILL)

    # Siblings keep consuming while the victim is replaced.
    PROBES["inbound"].send("during")
    [record] = wait_for_tokens(broker, "done", {"during"}, timeout=5)
    assert record["pid"] == sibling
    # The replacement is up within 5 s, and the sibling was never touched.
    worker.wait_ready(3, timeout=5)
    assert time.monotonic() - victim_started < 5
    children = worker.worker_children()
    assert sibling in children and victim not in children and len(children) == 2
    assert "killed by SIGKILL; restarting it" in worker.output()


def test_sigterm_during_a_task_lets_it_finish_and_exits_0(broker, workers):
    worker = workers("-c", "1")
    worker.wait_ready(1)
    PROBES["outbound"].send("in-flight", block=True)
    wait_for_tokens(broker, "started", {"in-flight"})

    worker.signal(signal.SIGTERM)
    time.sleep(1)  # the task is still running: the worker must wait for it
    assert worker.process.poll() is None
    release(broker, "in-flight")

    assert worker.wait(timeout=30) == 0
    assert tokens(broker, "done") == ["in-flight"]
    # Acked, not put back (the scheduler, on here, may have queued its own jobs).
    waiting = broker.client.hvals(f"{broker.namespace}:outbound.msgs")
    assert not [m for m in waiting if b"in-flight" in m]


def test_sigterm_puts_prefetched_messages_back_at_the_head_of_their_queue(broker, workers):
    worker = workers("-c", "1", "--threads", "1", "--queues=default", "--disable-scheduler")
    worker.wait_ready(1)
    PROBES["default"].send("running", block=True)
    wait_for_tokens(broker, "started", {"running"})
    PROBES["default"].send("prefetched")
    wait_until(lambda: queue_length(broker, "default") == 0, 5, what="the second message prefetched")
    PROBES["default"].send("later")

    worker.signal(signal.SIGTERM)
    worker.wait_for_output("Shutting down...")
    time.sleep(0.5)  # the worker thread has been told to stop after its current task
    release(broker, "running")
    assert worker.wait(timeout=30) == 0

    assert tokens(broker, "done") == ["running"]
    ids = [m.decode() for m in broker.client.lrange(f"{broker.namespace}:default", 0, -1)]
    assert len(ids) == 2
    payloads = broker.client.hmget(f"{broker.namespace}:default.msgs", ids)
    assert [b'"prefetched"' in p for p in payloads] == [True, False]


def test_a_second_signal_exits_at_once_and_nothing_is_lost(broker, workers):
    worker = workers("-c", "1", "--disable-scheduler")
    worker.wait_ready(1)
    PROBES["inbound"].send("stuck", block=True)
    wait_for_tokens(broker, "started", {"stuck"})

    worker.signal(signal.SIGINT)
    time.sleep(0.5)
    worker.signal(signal.SIGINT)

    assert worker.wait(timeout=5) != 0
    # The interrupted message is back in its queue for the next worker.
    assert queue_length(broker, "inbound") == 1


@pytest.mark.slow
def test_after_kill_9_of_the_whole_worker_a_new_worker_runs_the_task_within_30s(broker, workers):
    first = workers("-c", "1", "--disable-scheduler")
    first.wait_ready(1)
    PROBES["inbound"].send("orphan", block=True)
    wait_for_tokens(broker, "started", {"orphan"})
    children = first.worker_children()

    first.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait(5)
    wait_until(lambda: not any(process_exists(p) for p in children), 5, what="children to die with their parent")

    second = workers("-c", "1", "--disable-scheduler")
    wait_until(lambda: len(reports(broker, "started")) == 2, 35, what="the task to start again")
    elapsed = time.monotonic() - killed_at
    assert elapsed < 30, f"recovered after {elapsed:.1f}s"
    release(broker, "orphan")
    wait_for_tokens(broker, "done", {"orphan"})
    assert second.process.poll() is None
