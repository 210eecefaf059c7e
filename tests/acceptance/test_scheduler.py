"""The scheduler as operators run it: on every worker, each tick enqueued once, through crashes.

The workers get a test-only job that fires every second
(``tests.scheduled_jobs``) and consume only ``management``, so the tick
messages stay in the ``default`` queue, where the test reads which ticks
were enqueued and how often.
"""

import math
import os
import signal
import time
from collections import Counter

from dramatiq import Message

from tests.scheduled_jobs import SETTING
from tests.support import process_exists, wait_until

WITH_TICK_JOB = {"WORKER_SCHEDULE_EXTRA": SETTING}


def enqueued_ticks(broker) -> list[int]:
    ids = broker.client.lrange(f"{broker.namespace}:default", 0, -1)
    messages = [Message.decode(broker.client.hget(f"{broker.namespace}:default.msgs", i)) for i in ids]
    return [m.kwargs["tick"] for m in messages if m.actor_name == "tick_probe"]


def wait_for_tick(broker, tick: int, timeout: float) -> None:
    wait_until(lambda: tick in enqueued_ticks(broker), timeout, interval=0.2, what=f"tick {tick} to be enqueued")


def test_three_workers_enqueue_each_tick_exactly_once_even_when_one_is_killed(broker, workers):
    fleet = [workers("-c", "1", "--queues=management", env=WITH_TICK_JOB) for _ in range(3)]
    for worker in fleet:
        worker.wait_for_output("scheduler running", timeout=60)
    # From here on all three schedulers fire every tick.
    watched_from = math.ceil(time.time()) + 1

    wait_for_tick(broker, watched_from + 10, timeout=20)
    victim = fleet[0]
    children = victim.scheduler_children() + victim.worker_children()
    victim.signal(signal.SIGKILL)
    victim.wait(5)
    wait_until(lambda: not any(process_exists(p) for p in children), 5, what="its children to die with it")
    killed_at = time.time()

    last = watched_from + 32
    wait_for_tick(broker, last, timeout=30)
    counts = Counter(enqueued_ticks(broker))
    first = min(counts)  # fired by the first scheduler up, while the others started
    assert [tick for tick in range(first, last + 1) if counts[tick] != 1] == []  # none missed, none doubled
    assert last - first >= 32
    assert killed_at < last - 15  # the survivors fired on their own for over 15 ticks
    assert "schedule tick missed" not in "".join(w.output() for w in fleet[1:])


def test_a_killed_scheduler_is_restarted_and_disable_scheduler_starts_none(broker, workers):
    with_scheduler = workers("-c", "1", "--queues=management", env=WITH_TICK_JOB)
    without = workers("-c", "1", "--queues=management", "--disable-scheduler", env=WITH_TICK_JOB)
    with_scheduler.wait_for_output("scheduler running", timeout=30)
    without.wait_ready(1)
    assert without.scheduler_children() == []
    assert "scheduler" not in without.output().replace("--disable-scheduler", "").replace("scheduler off", "")

    [scheduler] = with_scheduler.scheduler_children()
    os.kill(scheduler, signal.SIGKILL)
    with_scheduler.wait_for_output("scheduler running", timeout=15, count=2)
    assert f"scheduler (pid {scheduler}) killed by SIGKILL; restarting it" in with_scheduler.output()
    [replacement] = with_scheduler.scheduler_children()
    assert replacement != scheduler
    # The replacement fires: it is the only scheduler running.
    wait_for_tick(broker, math.ceil(time.time()) + 1, timeout=5)
