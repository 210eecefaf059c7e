"""Outbound and selfcheck figures for the worker's metrics endpoint.

Created on first use, inside a worker process: by then the task metrics
middleware (``core.middleware.task_metrics``) has pointed
``prometheus_client`` at the worker's multiprocess directory, so the
supervisor's endpoint serves them with the task metrics.  Without metrics (``WORKER_METRICS_PORT=0``, a test) they
stay in the process's own registry, unserved and harmless.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace


@functools.cache
def _metrics() -> SimpleNamespace:
    from prometheus_client import Counter, Gauge

    def last(name: str, documentation: str) -> Gauge:
        # "mostrecent": the value set last by any worker process, kept after it exits.
        return Gauge(name, documentation, multiprocess_mode="mostrecent")

    return SimpleNamespace(
        recipients=Counter(
            "worker_outbound_recipients_total",
            "Outbound recipients after a send attempt, by outcome (sent, retry, failed)",
            ["outcome"],
        ),
        selfchecks=Counter(
            "worker_selfcheck_total", "Selfcheck runs, by result (success or the leg that failed)", ["result"]
        ),
        success=last("worker_selfcheck_success", "1 if the last selfcheck succeeded, else 0"),
        round_trip=last("worker_selfcheck_round_trip_seconds", "Round trip of the last successful selfcheck"),
        last_run=last("worker_selfcheck_last_run_timestamp_seconds", "When the last selfcheck ended (Unix time)"),
    )


def count_recipients(counts: dict[str, int]) -> None:
    for outcome, number in counts.items():
        if number:
            _metrics().recipients.labels(outcome).inc(number)


def record_selfcheck(success: bool, failed_leg: str, round_trip_seconds: float | None, ended_at: float) -> None:
    metrics = _metrics()
    metrics.selfchecks.labels("success" if success else failed_leg).inc()
    metrics.success.set(1 if success else 0)
    if round_trip_seconds is not None:
        metrics.round_trip.set(round_trip_seconds)
    metrics.last_run.set(ended_at)
