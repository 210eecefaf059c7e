"""Each task event logs one line with its action and fields (pure logic)."""

import logging

import pytest
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.middleware.time_limit import TimeLimitExceeded

from core.middleware.task_log import TaskLog


@pytest.fixture
def message():
    return MessageProxy(Message(queue_name="inbound", actor_name="process", args=(), kwargs={}, options={}))


def events(caplog):
    return [(r.levelname, r.action) for r in caplog.records if hasattr(r, "action")]


def run(middleware, message, exception=None):
    middleware.before_process_message(None, message)
    middleware.after_process_message(None, message, exception=exception)


def test_start_and_success_carry_queue_actor_message_id_and_duration(caplog, message):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    run(TaskLog(), message)
    assert events(caplog) == [("INFO", "task_started"), ("INFO", "task_succeeded")]
    done = caplog.records[-1]
    assert (done.queue, done.actor, done.message_id) == ("inbound", "process", message.message_id)
    assert done.duration_ms >= 0
    assert f"message_id={message.message_id}" in done.getMessage()


def test_a_time_out_is_its_own_action(caplog, message):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    message.fail()
    run(TaskLog(), message, TimeLimitExceeded())
    assert events(caplog)[-1] == ("ERROR", "task_timed_out")


def test_a_failure_that_retries_exhausted_is_task_failed(caplog, message):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    message.fail()  # what Retries does when no retry is left
    run(TaskLog(), message, RuntimeError("boom"))
    assert events(caplog)[-1] == ("ERROR", "task_failed")
    assert caplog.records[-1].error == "RuntimeError: boom"


def test_a_failure_that_will_be_retried_is_task_retried(caplog, message):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    message.options["retries"] = 1
    run(TaskLog(), message, RuntimeError("transient"))
    assert events(caplog)[-1] == ("WARNING", "task_retried")
    assert caplog.records[-1].retries == 1


def test_a_skipped_message_is_logged(caplog, message):
    caplog.set_level(logging.INFO, logger="worker.tasks")
    middleware = TaskLog()
    middleware.before_process_message(None, message)
    middleware.after_skip_message(None, message)
    assert events(caplog)[-1] == ("WARNING", "task_skipped")
