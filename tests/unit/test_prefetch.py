"""The fetch limits that keep urgent mail moving (pure logic)."""

import threading
import time
from dataclasses import dataclass

import pytest

from core.middleware.prefetch import QueuePrefetch


@dataclass
class Held:
    """What the policy reads of a consumer: its queue and how many messages it holds."""

    queue_name: str
    outstanding_message_count: int = 0


def policy(threads: int, running: dict[str, int] | None = None) -> QueuePrefetch:
    p = QueuePrefetch()
    p.threads = threads
    p.running.update(running or {})
    return p


def with_consumers(p: QueuePrefetch, *held: Held) -> QueuePrefetch:
    for h in held:
        p.register(h)
    return p


def test_an_idle_process_fetches_urgent_mail_for_every_idle_thread():
    inbound = Held("inbound")
    assert with_consumers(policy(threads=4), inbound).fetch_limit(inbound) == 4


def test_a_busy_process_holds_at_most_half_its_threads_of_urgent_messages_it_cannot_start():
    inbound, outbound = Held("inbound"), Held("outbound")
    p = with_consumers(policy(threads=4, running={"default": 4}), inbound, outbound)
    assert p.fetch_limit(inbound) == 2
    inbound.outstanding_message_count = 2  # it took those
    assert p.fetch_limit(inbound) == 2  # and no more
    assert p.fetch_limit(outbound) == 0  # the waiting slots are shared by urgent queues


def test_a_busy_single_thread_process_holds_one_urgent_message():
    inbound = Held("inbound")
    assert with_consumers(policy(threads=1, running={"default": 1}), inbound).fetch_limit(inbound) == 1


def test_urgent_messages_already_running_do_not_count_as_waiting():
    inbound = Held("inbound", 2)
    p = with_consumers(policy(threads=8, running={"inbound": 2, "reindex": 1}), inbound)
    assert p.fetch_limit(inbound) == 2 + 5  # five idle threads left


def test_buffered_default_messages_do_not_block_urgent_mail():
    # Default prefetches 2 x threads; those waiting messages must not make
    # the process look busy to the inbound consumer.
    inbound, default = Held("inbound"), Held("default", 8)
    p = with_consumers(policy(threads=4, running={"default": 1}), inbound, default)
    assert p.fetch_limit(inbound) == 3


def test_default_keeps_dramatiqs_prefetch_for_throughput():
    assert policy(threads=4, running={"default": 4}).fetch_limit(Held("default", 8)) == 8


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_bulk_queues_together_never_take_every_thread(threads):
    imports, reindex = Held("imports", threads - 2), Held("reindex", 1)
    p = with_consumers(policy(threads), imports, reindex)
    assert p.fetch_limit(imports) == imports.outstanding_message_count  # no room left for more
    assert p.fetch_limit(reindex) == reindex.outstanding_message_count
    assert imports.outstanding_message_count + reindex.outstanding_message_count == threads - 1


def test_bulk_queues_share_the_room_they_have():
    imports, reindex = Held("imports", 1), Held("reindex", 0)
    p = with_consumers(policy(threads=4), imports, reindex)
    assert p.fetch_limit(reindex) == 2  # 3 bulk slots, 1 taken by imports


def test_a_single_thread_process_may_still_run_bulk_work():
    imports = Held("imports")
    assert with_consumers(policy(threads=1), imports).fetch_limit(imports) == 1


def test_nothing_is_fetched_once_shutdown_starts():
    p = policy(threads=4)
    p.stopping = True
    assert p.fetch_limit(Held("inbound")) == 0
    assert p.fetch_limit(Held("default")) == 0


def test_delay_queues_hold_many_messages_waiting_for_their_eta():
    assert policy(threads=2).fetch_limit(Held("reindex.DQ")) == 2000


def test_a_consumer_waiting_at_its_limit_wakes_at_the_next_ack_not_at_its_timeout():
    p = policy(threads=1)
    seen = p.acks
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: (p.wait_for_ack(seen, timeout=30), woke.set()))
    waiter.start()
    p.after_ack(broker=None, message=None)
    assert woke.wait(5), "still asleep after an ack"
    waiter.join(5)


def test_an_ack_between_the_limit_check_and_the_wait_is_not_lost():
    p = policy(threads=1)
    seen = p.acks
    p.after_nack(broker=None, message=None)  # lands before the consumer starts waiting
    started = time.monotonic()
    p.wait_for_ack(seen, timeout=30)
    assert time.monotonic() - started < 5
