"""The schedule table and the tick arithmetic, with ``now`` given: no sleeping, no mocked clock."""

import importlib
import importlib.util
from datetime import UTC, datetime

import pytest

from broker import broker
from core.queues import route_module
from core.runtime.scheduling import build_scheduler, first_run, trigger
from core.runtime.tick_claim import TickClaimer
from core.runtime.ticks import (
    MAX_GRACE,
    as_datetime,
    claim_ttl,
    grace_time,
    next_tick,
    retry_delay,
    tick_at,
    tick_due,
)
from core.schedule import SCHEDULE, ScheduledJob, describe_every
from tests.scheduled_jobs import EVERY_SECOND


def at(text: str) -> float:
    """A UTC instant as Unix seconds, from "2026-12-03 12:03:17.250"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def job_every(seconds: int) -> ScheduledJob:
    return ScheduledJob("job", "A job", every=seconds, module="core.x", actor_name="x", queue="default")


# -- tick instants ------------------------------------------------------
def test_ticks_fall_on_multiples_of_the_interval_since_the_epoch():
    assert tick_at(at("2026-12-03 12:03:17.250"), 300) == at("2026-12-03 12:00:00")
    assert tick_at(at("2026-12-03 12:05:00"), 300) == at("2026-12-03 12:05:00")
    assert tick_at(at("2026-12-03 12:03:17.250"), 1) == at("2026-12-03 12:03:17")
    assert tick_at(at("2026-12-03 12:03:17"), 600) == at("2026-12-03 12:00:00")


def test_schedulers_started_at_different_times_agree_on_the_next_tick():
    starts = [at("2026-12-03 12:00:00.001"), at("2026-12-03 12:02:30"), at("2026-12-03 12:04:59.999")]
    assert {next_tick(start, 300) for start in starts} == {at("2026-12-03 12:05:00")}


@pytest.mark.parametrize("now", ["2026-12-03 12:03:17.250", "2026-12-03 12:05:00", "2026-12-03 23:59:59.999"])
@pytest.mark.parametrize("interval", [1, 7, 300, 600])
def test_the_apscheduler_trigger_fires_on_the_aligned_tick_instants(now, interval):
    instant = at(now)
    first_at_or_after = (
        tick_at(instant, interval) if tick_at(instant, interval) == instant else next_tick(instant, interval)
    )
    apscheduler_trigger = trigger(job_every(interval))
    first = apscheduler_trigger.get_next_fire_time(None, as_datetime(instant))
    assert first == as_datetime(first_at_or_after)
    assert apscheduler_trigger.get_next_fire_time(first, first) == as_datetime(first_at_or_after + interval)


# -- grace time and coalescing ------------------------------------------
@pytest.mark.parametrize("interval, grace", [(1, 0.5), (60, 30), (120, 60), (300, MAX_GRACE), (600, MAX_GRACE)])
def test_the_grace_time_is_half_the_interval_and_at_most_a_minute(interval, grace):
    assert grace_time(interval) == grace


def test_a_tick_still_fires_up_to_its_grace_time_late_and_not_after():
    tick = at("2026-12-03 12:05:00")
    assert tick_due(tick, 300) == tick
    assert tick_due(tick + 59.9, 300) == tick
    assert tick_due(tick + 60, 300) == tick
    assert tick_due(tick + 60.1, 300) is None
    assert tick_due(tick + 0.4, 1) == tick
    assert tick_due(tick + 0.6, 1) is None


def test_after_a_pause_of_many_intervals_only_the_latest_tick_is_due():
    paused_at = at("2026-12-03 12:05:00")
    woken = paused_at + 10 * 300 + 20  # 50 minutes later, 20 s after a tick
    assert tick_due(woken, 300) == at("2026-12-03 12:55:00")


def test_a_scheduler_starting_within_the_grace_time_fires_the_tick_at_once():
    assert first_run(at("2026-12-03 12:05:30"), 300) == at("2026-12-03 12:05:00")


def test_a_scheduler_starting_past_the_grace_time_waits_for_the_next_tick():
    assert first_run(at("2026-12-03 12:06:30"), 300) == at("2026-12-03 12:10:00")


def test_retries_get_longer_and_stop_when_the_grace_time_is_over():
    tick = at("2026-12-03 12:05:00")
    delays = [retry_delay(n, tick, 300, tick + 1) for n in range(1, 8)]
    assert delays == [0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 5.0]
    assert retry_delay(3, tick, 300, tick + 59.5) == pytest.approx(0.5)  # never past the grace time
    assert retry_delay(1, tick, 300, tick + 60) is None
    assert retry_delay(1, tick, 1, tick + 0.5) is None


@pytest.mark.parametrize("interval", [1, 300, 600, 86400])
def test_a_claim_outlives_every_chance_to_fire_its_tick_even_with_clocks_minutes_apart(interval):
    assert claim_ttl(interval) >= interval + grace_time(interval) + 600


# -- the APScheduler jobs -----------------------------------------------
def test_each_job_is_coalesced_aligned_and_left_to_our_grace_time():
    jobs = (job_every(300), EVERY_SECOND[0])
    now = at("2026-12-03 12:05:20.6")
    scheduler = build_scheduler(jobs, TickClaimer(broker), now, sleep=lambda _: False)
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(by_id) == {"job", "tick_probe"}
    for job in by_id.values():
        assert job.coalesce is True
        assert job.misfire_grace_time is None
        assert job.max_instances == 1
    assert by_id["job"].next_run_time == as_datetime(at("2026-12-03 12:05:00"))  # 20.6 s late: within grace
    assert by_id["tick_probe"].next_run_time == as_datetime(at("2026-12-03 12:05:21"))  # 0.6 s late: the next one


# -- the table ------------------------------------------------------------
def declared_actor(job: ScheduledJob):
    """The job's actor if its module exists yet (the outbound and inbound issues bring theirs)."""
    if importlib.util.find_spec(job.module) is None:
        return None
    importlib.import_module(job.module)
    return broker.get_actor(job.actor_name)


@pytest.mark.parametrize("job", [*SCHEDULE, *EVERY_SECOND], ids=lambda job: job.name)
def test_each_job_targets_the_queue_its_actor_is_routed_to(job):
    actor = declared_actor(job)
    if actor is None:  # its module has not landed yet: the routing rule decides
        assert job.queue == route_module(job.module)
    else:  # management tasks name their queue; the declared actor is the truth
        assert actor.fn.__module__ == job.module
        assert actor.queue_name == job.queue


def test_the_seed_jobs_and_the_dead_letter_purge_are_scheduled():
    assert [(j.description, j.every if isinstance(j.every, int) else j.every.variable, j.queue) for j in SCHEDULE] == [
        ("Retry pending messages", 300, "outbound"),
        ("System selfcheck", "SELFCHECK_INTERVAL", "outbound"),
        ("Process inbound queue", 300, "inbound"),
        ("Purge dead letters older than 7 days", 3600, "management"),
        ("Purge delivered intake rows older than 7 days", 3600, "management"),
    ]
    assert len({job.name for job in SCHEDULE}) == len(SCHEDULE)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"queue": "inbox"}, "unknown queue 'inbox'; valid queues are: management, inbound"),
        ({"every": 0}, "every must be 1 to"),
        ({"every": 8 * 24 * 3600}, "every must be 1 to"),
        ({"name": "Retry pending"}, "must be lower case letters"),
    ],
)
def test_a_bad_job_declaration_is_rejected(fields, message):
    values = dict(name="job", description="A job", every=60, module="core.x", actor_name="x", queue="default")
    with pytest.raises(ValueError, match=message):
        ScheduledJob(**{**values, **fields})


def test_an_unresolved_interval_cannot_be_used_as_seconds():
    with pytest.raises(TypeError, match="SELFCHECK_INTERVAL"):
        _ = SCHEDULE[1].interval


@pytest.mark.parametrize("seconds, text", [(1, "Every second"), (45, "Every 45 seconds"), (300, "Every 5 minutes"),
                                           (3600, "Every hour"), (7200, "Every 2 hours")])  # fmt: skip
def test_intervals_read_as_people_say_them(seconds, text):
    assert describe_every(seconds) == text
