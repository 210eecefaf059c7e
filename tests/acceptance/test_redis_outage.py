"""Redis lost while the worker runs: it waits, then resumes, and keeps its processes."""

import subprocess
import time

import pytest
import redis

from broker import WorkerBroker
from core.runtime.embedded_redis import redis_server_binary
from tests import probes
from tests.probes import PROBES
from tests.support import RunningWorker, free_port, wait_until


class PrivateRedis:
    """A redis-server of this test's own, so it can be stopped without harming anyone."""

    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), 10, what="private redis to start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


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
