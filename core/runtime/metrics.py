"""The metrics endpoint: every worker process's figures, and the queues' own.

The task metrics middleware (``core.middleware.task_metrics``: Dramatiq's
Prometheus metrics, batched) runs in each worker process and writes to a
shared multiprocess directory; the
supervisor serves the sum of them on ``WORKER_METRICS_PORT``, together with
what Dramatiq lacks: each queue's depth, delayed and dead-lettered counts
and the age of its oldest waiting message, read from Redis at each scrape,
so an inbound backlog shows before users notice it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import redis
from prometheus_client import CollectorRegistry, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily

from core.queues import QUEUE_NAMES

logger = logging.getLogger("worker.metrics")


class QueueCollector:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def collect(self):
        up = GaugeMetricFamily("worker_redis_up", "1 when the broker's Redis answered this scrape")
        try:
            families = self._queue_families()
        except redis.RedisError as error:
            logger.warning("queue metrics unavailable: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _queue_families(self) -> list:
        ns = self.namespace
        pipe = self.client.pipeline(transaction=False)
        for q in QUEUE_NAMES:
            pipe.llen(f"{ns}:{q}")
            pipe.hlen(f"{ns}:{q}.DQ.msgs")
            pipe.zcard(f"{ns}:{q}.XQ")
            pipe.lindex(f"{ns}:{q}", 0)
        replies = pipe.execute()
        heads = {q: replies[i * 4 + 3] for i, q in enumerate(QUEUE_NAMES)}
        pipe = self.client.pipeline(transaction=False)
        waiting = [q for q, head in heads.items() if head is not None]
        for q in waiting:
            pipe.hget(f"{ns}:{q}.msgs", heads[q])
        bodies = dict(zip(waiting, pipe.execute(), strict=True))

        depth = GaugeMetricFamily("worker_queue_messages", "Messages waiting in the queue", labels=["queue"])
        delayed = GaugeMetricFamily("worker_queue_delayed_messages", "Messages waiting for their eta", labels=["queue"])
        dead = GaugeMetricFamily("worker_queue_dead_letters", "Dead-lettered messages kept", labels=["queue"])
        oldest = GaugeMetricFamily(
            "worker_queue_oldest_message_age_seconds",
            "Age of the message at the head of the queue (0 when empty)",
            labels=["queue"],
        )
        now_ms = time.time() * 1000
        for i, q in enumerate(QUEUE_NAMES):
            depth.add_metric([q], replies[i * 4])
            delayed.add_metric([q], replies[i * 4 + 1])
            dead.add_metric([q], replies[i * 4 + 2])
            age = 0.0
            body = bodies.get(q)
            if body:
                try:
                    age = max(0.0, (now_ms - json.loads(body)["message_timestamp"]) / 1000)
                except (ValueError, KeyError, TypeError):
                    age = 0.0
            oldest.add_metric([q], age)
        return [depth, delayed, dead, oldest]


def metrics_dir(data_dir: Path, supervisor_pid: int) -> Path:
    """A fresh directory for one supervisor's worker processes' metric files."""
    path = data_dir.resolve() / "metrics" / str(supervisor_pid)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def serve_metrics(host: str, port: int, client: redis.Redis, namespace: str, directory: Path):
    """Start the endpoint in a daemon thread; raises OSError if the port is taken."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(QueueCollector(client, namespace))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def mark_dead(directory: Path, pid: int) -> None:
    """Drop a dead process's live gauges (messages in progress) from the sum."""
    multiprocess.mark_process_dead(pid, str(directory))
