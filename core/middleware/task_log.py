"""One log line per task event, with the fields a log shipper needs.

Every start, success, failure, retry, time-out and skip carries a stable
``action`` plus ``queue``, ``actor``, ``message_id`` and (after the task)
``duration_ms``: as JSON fields with ``--log-format=json``, and as
``key=value`` pairs in the text format.  It must sit before ``Retries`` in
the middleware list: "after" hooks run in reverse order, so by the time
this one runs Retries has decided whether the message failed for good.
"""

from __future__ import annotations

import logging
import time

from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from dramatiq.middleware.time_limit import TimeLimitExceeded

logger = logging.getLogger("worker.tasks")


def task_fields(message: MessageProxy, action: str, **more) -> dict:
    return {
        "action": action,
        "queue": message.queue_name,
        "actor": message.actor_name,
        "message_id": message.message_id,
        **more,
    }


def _log(level: int, text: str, fields: dict) -> None:
    pairs = " ".join(f"{k}={v}" for k, v in fields.items() if k != "action")
    logger.log(level, "%s: %s", text, pairs, extra=fields)


class TaskLog(Middleware):
    def __init__(self) -> None:
        # Set and popped by the thread running the message; single dict
        # operations need no lock of our own.
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        self._started[message.message_id] = time.monotonic()
        if logger.isEnabledFor(logging.INFO):
            _log(logging.INFO, "task started", task_fields(message, "task_started"))

    def _duration_ms(self, message: MessageProxy) -> int:
        started = self._started.pop(message.message_id, None)
        return 0 if started is None else round((time.monotonic() - started) * 1000)

    def after_process_message(self, broker: Broker, message: MessageProxy, *, result=None, exception=None) -> None:
        duration = self._duration_ms(message)
        if exception is None:
            if logger.isEnabledFor(logging.INFO):
                _log(logging.INFO, "task succeeded", task_fields(message, "task_succeeded", duration_ms=duration))
            return
        error = f"{type(exception).__name__}: {exception}"
        if isinstance(exception, TimeLimitExceeded):
            fields = task_fields(message, "task_timed_out", duration_ms=duration, error=error)
            _log(logging.ERROR, "task timed out", fields)
        elif message.failed:
            _log(logging.ERROR, "task failed", task_fields(message, "task_failed", duration_ms=duration, error=error))
        else:
            retries = message.options.get("retries", 0)
            fields = task_fields(message, "task_retried", duration_ms=duration, error=error, retries=retries)
            _log(logging.WARNING, "task will be retried", fields)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        fields = task_fields(message, "task_skipped", duration_ms=self._duration_ms(message))
        _log(logging.WARNING, "task skipped", fields)
