"""Claiming ticks on a real Redis: exactly once, atomically with the message, and Redis lost at a tick."""

import logging
import threading

import pytest
import redis
from dramatiq import Message
from redis.backoff import NoBackoff
from redis.retry import Retry

import broker as broker_module
from broker import WorkerBroker
from core.runtime.scheduling import ALREADY_CLAIMED, ENQUEUED, MISSED, fire, run_job
from core.runtime.tick_claim import TickClaimer, claim_key
from core.runtime.ticks import claim_ttl
from core.schedule import ScheduledJob
from tests.probes import tick_probe
from tests.scheduled_jobs import EVERY_SECOND
from tests.support import PrivateRedis, free_port, queue_length, tokens, wait_until

TICK = 1_796_299_500  # 2026-12-03 12:05:00 UTC
EVERY_5_MINUTES = ScheduledJob(
    "every_5_minutes",
    "Test",
    every=300,
    module="tests.probes",
    actor_name="tick_probe",
    queue="default",
    tick_kwarg="tick",
)


def queued_messages(broker, queue: str = "default") -> list[Message]:
    ids = broker.client.lrange(f"{broker.namespace}:{queue}", 0, -1)
    return [Message.decode(broker.client.hget(f"{broker.namespace}:{queue}.msgs", i)) for i in ids]


def scheduler_broker(namespace: str, client: redis.Redis | None = None) -> WorkerBroker:
    """A broker as another scheduler process has it: its own connection."""
    return WorkerBroker(client=client or broker_module.redis_client(), namespace=namespace, middleware=[])


def test_a_tick_fired_by_many_schedulers_at_once_is_enqueued_exactly_once(broker):
    claimers = [TickClaimer(scheduler_broker(broker.namespace)) for _ in range(5)]
    start = threading.Barrier(len(claimers))
    results = []

    def race(claimer):
        start.wait()
        results.append(claimer.claim(EVERY_5_MINUTES, TICK, TICK + 0.1))

    threads = [threading.Thread(target=race, args=(c,)) for c in claimers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    [winner] = [r for r in results if r is not None]
    assert len(results) == 5
    assert [m.message_id for m in queued_messages(broker)] == [winner.message_id]
    # The claim names the message it enqueued, and expires by itself.
    key = claim_key(broker.namespace, EVERY_5_MINUTES, TICK)
    assert broker.client.get(key).decode() == winner.options["redis_message_id"]
    assert claim_ttl(300) - 5 < broker.client.ttl(key) <= claim_ttl(300)


def test_each_job_and_each_tick_has_a_claim_of_its_own(broker):
    claimer = TickClaimer(broker)
    assert claimer.claim(EVERY_5_MINUTES, TICK, TICK) is not None
    assert claimer.claim(EVERY_5_MINUTES, TICK, TICK + 1) is None
    assert claimer.claim(EVERY_5_MINUTES, TICK + 300, TICK + 300) is not None
    assert claimer.claim(EVERY_SECOND[0], TICK, TICK) is not None
    assert [m.kwargs["tick"] for m in queued_messages(broker)] == [TICK, TICK + 300, TICK]


def test_a_scheduled_message_is_the_one_actor_send_enqueues(broker):
    tick_probe.send(tick=TICK)
    TickClaimer(broker).claim(EVERY_5_MINUTES, TICK + 300, TICK + 300.25)
    sent, scheduled = queued_messages(broker)
    assert sent.asdict().keys() == scheduled.asdict().keys()
    for field in ("queue_name", "actor_name", "args"):
        assert getattr(sent, field) == getattr(scheduled, field)
    assert sent.options.keys() == scheduled.options.keys() == {"redis_message_id"}
    assert scheduled.kwargs == {"tick": TICK + 300}
    assert scheduled.message_timestamp == (TICK + 300) * 1000 + 250


def test_a_worker_runs_a_scheduled_message_like_any_other(broker, workers):
    worker = workers("-c", "1", "--queues=default", "--disable-scheduler")
    worker.wait_ready(1)
    assert fire(TickClaimer(broker), EVERY_5_MINUTES, TICK) == ENQUEUED
    wait_until(lambda: tokens(broker, "ticks") == [str(TICK)], 10, what="the tick probe to run")


def test_a_tick_already_enqueued_is_not_enqueued_again(broker, caplog):
    claimer = TickClaimer(broker)
    caplog.set_level(logging.DEBUG, logger="worker.scheduler")
    assert fire(claimer, EVERY_5_MINUTES, TICK) == ENQUEUED
    assert fire(claimer, EVERY_5_MINUTES, TICK) == ALREADY_CLAIMED
    assert [(r.levelname, r.action) for r in caplog.records] == [
        ("INFO", "schedule_tick_enqueued"),
        ("DEBUG", "schedule_tick_already_claimed"),
    ]
    assert queue_length(broker, "default") == 1


class FakeClock:
    """Time that passes only when the code under test sleeps: retries without waiting."""

    def __init__(self, now: float, on_sleep=None) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))
        return False


def unreachable_broker(namespace: str, port: int) -> WorkerBroker:
    client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    return scheduler_broker(namespace, client)


def test_redis_unreachable_at_a_tick_is_retried_within_the_grace_time_then_logged_missed(broker, caplog):
    claimer = TickClaimer(unreachable_broker(broker.namespace, free_port()))
    clock = FakeClock(TICK + 0.01)

    assert fire(claimer, EVERY_5_MINUTES, TICK, clock, clock.sleep) == MISSED

    assert clock.sleeps[:5] == [0.2, 0.5, 1.0, 2.0, 5.0]
    assert TICK + 60 - 0.01 < clock.now <= TICK + 60  # retried up to the end of the grace time
    missed = [r for r in caplog.records if r.action == MISSED]
    assert len(missed) == 1 and missed[0].levelname == "ERROR"
    assert missed[0].job == "every_5_minutes" and missed[0].tick == "2026-12-03T12:05:00Z"
    assert "ConnectionError" in missed[0].error
    assert [r.action for r in caplog.records if r.levelname == "WARNING"] == ["schedule_tick_retrying"]


def test_a_tick_is_enqueued_when_redis_comes_back_within_the_grace_time(broker, tmp_path):
    server = PrivateRedis(tmp_path)
    claimer = TickClaimer(unreachable_broker(broker.namespace, server.port))
    clock = FakeClock(TICK, on_sleep=lambda n: n == 2 and server.start())
    try:
        assert fire(claimer, EVERY_5_MINUTES, TICK, clock, clock.sleep) == ENQUEUED
        assert len(clock.sleeps) == 2
        assert queued_messages(claimer.broker)[0].kwargs == {"tick": TICK}
    finally:
        server.stop()


def test_a_scheduler_told_to_stop_during_retries_gives_up_at_once(broker, caplog):
    claimer = TickClaimer(unreachable_broker(broker.namespace, free_port()))
    assert fire(claimer, EVERY_5_MINUTES, TICK, lambda: TICK, lambda seconds: True) == MISSED
    [missed] = [r for r in caplog.records if r.action == MISSED]
    assert missed.error == "the scheduler is stopping"


@pytest.mark.parametrize("late, outcome", [(59.0, ENQUEUED), (61.0, MISSED)])
def test_a_scheduler_woken_past_the_grace_time_enqueues_nothing(broker, caplog, late, outcome):
    assert run_job(TickClaimer(broker), EVERY_5_MINUTES, lambda: TICK + late) == outcome
    assert queue_length(broker, "default") == (1 if outcome == ENQUEUED else 0)
    if outcome == MISSED:
        [missed] = caplog.records
        assert missed.action == MISSED and "past its grace time" in missed.error
