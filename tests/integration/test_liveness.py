"""Heartbeats and recovery of dead workers' messages, on the real Redis."""

from core.runtime.liveness import Liveness
from tests.probes import PROBES
from tests.support import queue_length


def fetch_as(broker, worker_id: str, queue: str, count: int = 1):
    """Take messages off a queue as worker ``worker_id`` would (into its ack set)."""
    original = broker.broker_id
    broker.broker_id = worker_id
    try:
        return broker.do_fetch(queue, count)
    finally:
        broker.broker_id = original


def test_messages_of_a_worker_known_dead_go_back_to_the_head_of_their_queue(broker):
    liveness = Liveness(broker.client, broker.namespace)
    liveness.register("dead-1", {"queues": ["inbound"]})
    first = PROBES["inbound"].send("first")
    PROBES["inbound"].send("second")
    assert len(fetch_as(broker, "dead-1", "inbound")) == 1
    assert queue_length(broker, "inbound") == 1

    assert liveness.recover(["dead-1"]) == 1

    assert queue_length(broker, "inbound") == 2
    head = broker.client.lindex(f"{broker.namespace}:inbound", 0).decode()
    assert head == first.options["redis_message_id"]
    assert "dead-1" not in liveness.workers()


def test_a_silent_worker_is_recovered_but_a_beating_one_is_not(broker):
    liveness = Liveness(broker.client, broker.namespace)
    liveness.register("silent", {})
    liveness.register("alive", {})
    PROBES["default"].send("a")
    PROBES["default"].send("b")
    fetch_as(broker, "silent", "default")
    fetch_as(broker, "alive", "default")
    # Backdate the silent worker's heartbeat by a minute.
    broker.client.zincrby(liveness.heartbeats_key, -60_000, "silent")

    requeued, dead = liveness.recover_silent(timeout_ms=15_000)

    assert (requeued, dead) == (1, ["silent"])
    assert queue_length(broker, "default") == 1
    assert set(liveness.workers()) == {"alive"}


def test_recovery_skips_messages_that_were_acked_meanwhile(broker):
    liveness = Liveness(broker.client, broker.namespace)
    liveness.register("dead-2", {})
    PROBES["outbound"].send("x")
    [_data] = fetch_as(broker, "dead-2", "outbound")
    # The message finished and was acked just before its worker died.
    broker.client.delete(f"{broker.namespace}:outbound.msgs")

    assert liveness.recover(["dead-2"]) == 0
    assert queue_length(broker, "outbound") == 0


def test_delayed_messages_of_a_dead_worker_go_back_to_the_delay_queue(broker):
    liveness = Liveness(broker.client, broker.namespace)
    liveness.register("dead-3", {})
    PROBES["reindex"].send_with_options(args=("later",), delay=60_000)
    fetch_as(broker, "dead-3", "reindex.DQ")
    assert queue_length(broker, "reindex.DQ") == 0

    assert liveness.recover(["dead-3"]) == 1
    assert queue_length(broker, "reindex.DQ") == 1
