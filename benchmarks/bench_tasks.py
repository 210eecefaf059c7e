"""The benchmark's actors, declared for our worker (routing by module) or for
stock Dramatiq (explicit queues, its global broker) from the same code."""

from __future__ import annotations

import os
import time

import dramatiq
import redis

STOCK = os.environ.get("BENCH_STOCK") == "1"
NAMESPACE = os.environ["WORKER_NAMESPACE"]

if STOCK:
    from dramatiq.brokers.redis import RedisBroker

    if os.environ.get("BENCH_STOCK_DJANGO") == "1":  # to measure what loading Django costs
        import django

        django.setup()

    broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"], namespace=NAMESPACE)
    dramatiq.set_broker(broker)
else:
    from broker import broker


def _declare(fn, queue: str, module: str):
    if STOCK:
        return dramatiq.actor(fn, broker=broker, queue_name=queue)
    fn.__module__ = module  # what our routing middleware reads
    return dramatiq.actor(fn, broker=broker)


client: redis.Redis = broker.client


def bench_noop() -> None:
    client.incr(f"{NAMESPACE}:bench:count")


def bench_inbound(sent_at: float) -> None:
    client.rpush(f"{NAMESPACE}:bench:latency", time.time() - sent_at)


def bench_slow_default() -> None:
    time.sleep(1)


def bench_slow_reindex() -> None:
    time.sleep(1)


noop = _declare(bench_noop, "default", "benchmarks.bench_tasks")
inbound = _declare(bench_inbound, "inbound", "core.mda.inbound_tasks.bench")
slow_default = _declare(bench_slow_default, "default", "benchmarks.bench_tasks")
slow_reindex = _declare(bench_slow_reindex, "reindex", "core.services.search.tasks.bench")
