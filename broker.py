"""The one broker: built explicitly, its middleware written out in one place.

Every producer and every worker process imports ``broker`` from here and
declares actors with ``broker=broker`` (see ``core.tasks.actor``); nothing
relies on Dramatiq's global default broker.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.middleware.db_connections import DatabaseConnections
from core.middleware.prefetch import QueuePrefetch
from core.middleware.routing import QueueRouting
from core.middleware.task_log import TaskLog
from core.queues import Tier, get_queue
from core.runtime import embedded_redis
from core.runtime.consumer import FairConsumer
from core.runtime.liveness import HEARTBEAT_TIMEOUT_MS

#: Every task finishes within this bound unless its actor sets another
#: ``time_limit``; long work is cut into resumable steps instead.
DEFAULT_TIME_LIMIT_MS = 5 * 60 * 1000
#: How long an idle urgent queue may go unpolled (stock Dramatiq: 1 s for every queue).
URGENT_IDLE_POLL_MS = 100
DEFAULT_NAMESPACE = "dramatiq"


def data_dir() -> Path:
    return Path(os.environ.get("WORKER_DATA_DIR") or "var")


def namespace() -> str:
    return os.environ.get("WORKER_NAMESPACE") or DEFAULT_NAMESPACE


def redis_url() -> str | None:
    """``REDIS_URL``, or None for the embedded server."""
    return os.environ.get("REDIS_URL") or None


def describe_redis() -> str:
    """Where the broker lives, for messages: passwords masked."""
    url = redis_url()
    if url is None:
        return f"embedded Redis at {embedded_redis.socket_path(data_dir())}"
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        parts = parts._replace(netloc=f"{user}:***@{host}")
    return urlunsplit(parts)


def build_middleware() -> list:
    """The middleware of every process, producers included, in order."""
    return [
        QueueRouting(),
        TaskLog(),  # before Retries: see core/middleware/task_log.py
        QueuePrefetch(),
        AgeLimit(),
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        # Opt-in per actor: a mail task that fails is usually not helped by
        # Dramatiq's default of 20 blind retries (and sending twice is worse).
        Retries(max_retries=0),
        DatabaseConnections(),
        # Lets a task know its own message id (inbound processing claims rows by it).
        CurrentMessage(),
    ]


def worker_middleware(metrics_directory: str | None) -> list:
    """What worker processes add to it: the Prometheus task metrics, when on.

    Only there: the metrics are created at process boot, which producers never go through.
    """
    if metrics_directory is None:
        return []
    from core.middleware.task_metrics import TaskMetrics

    return [TaskMetrics(metrics_directory)]


class WorkerBroker(RedisBroker):
    """Dramatiq's Redis broker with our consumer: fair limits, fast urgent polls."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> FairConsumer:
        canonical = queue_name.removesuffix(".DQ")
        if get_queue(canonical).tier is Tier.URGENT:
            timeout = min(timeout, URGENT_IDLE_POLL_MS)
        policy = next(m for m in self.middleware if isinstance(m, QueuePrefetch))
        return FairConsumer(self, queue_name, prefetch, timeout, policy)


def redis_client() -> redis.Redis:
    url = redis_url()
    if url is None:
        return redis.Redis(connection_pool=embedded_redis.connection_pool(data_dir()))
    # A Redis that is down must not hang a producer (an MTA's pipe to `manage.py
    # deliver` included): connecting gives up after 5 s; options in the URL win.
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_keepalive=True)


def check_reachable() -> None:
    """Raise at once (no retries) when the broker's Redis cannot be reached."""
    url = redis_url()
    if url is None:
        embedded_redis.ensure_running(data_dir())
        return
    client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    finally:
        client.close()


def build_broker() -> WorkerBroker:
    return WorkerBroker(
        client=redis_client(),
        namespace=namespace(),
        middleware=build_middleware(),
        # Our supervisors recover dead workers' messages (core.runtime.liveness);
        # Dramatiq's random maintenance would judge liveness from consumer polls.
        maintenance_chance=0,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
    )


broker = build_broker()
