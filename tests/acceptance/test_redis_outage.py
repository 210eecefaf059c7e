"""Redis lost while the worker runs: it waits, then resumes, and keeps its processes."""

import time

import pytest
import redis

from broker import WorkerBroker
from tests import probes
from tests.probes import PROBES
from tests.support import PrivateRedis, RunningWorker, wait_until


@pytest.fixture
def private_redis(tmp_path, broker):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_workers_resume_when_redis_comes_back(private_redis, broker):
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    client = redis.Redis(port=private_redis.port)
    producer = WorkerBroker(client=client, namespace=broker.namespace, middleware=[])
    worker = RunningWorker("-c", "1", "--disable-scheduler", env={"REDIS_URL": url})
    try:
        worker.wait_ready(1)
        children = worker.worker_children()
        producer.enqueue(PROBES["inbound"].message("before"))
        wait_until(lambda: client.llen(probes.key("done")) == 1, 10, what="the first message")

        private_redis.stop()
        time.sleep(4)  # consumers hit connection errors and back off
        private_redis.start()
        producer.enqueue(PROBES["inbound"].message("after"))

        # The restarted server is empty (no persistence), so "done" holds only what ran since.
        wait_until(lambda: client.lrange(probes.key("done"), 0, -1), 30, what="the message sent after the outage")
        assert b'"after"' in client.lindex(probes.key("done"), 0)
        assert worker.process.poll() is None
        assert worker.worker_children() == children
        assert "Redis unreachable" in worker.output()
    finally:
        worker.stop()
