"""Helpers to run ``python worker.py`` as a real subprocess and watch it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from core.runtime.embedded_redis import redis_server_binary
from tests import probes

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class RunningWorker:
    """``python worker.py ARGS`` in its own process group, its output in a file."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False)  # noqa: SIM115 - lives as long as the worker
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "worker.py"), *args],
            cwd=PROJECT_DIR,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 20.0, count: int = 1) -> None:
        wait_until(
            lambda: self.output().count(text) >= count or self.process.poll() is not None,
            timeout,
            what=f"{text!r} in the worker's output",
        )
        assert self.output().count(text) >= count, f"worker exited early:\n{self.output()}"

    def wait_ready(self, processes: int, timeout: float = 30.0) -> None:
        """Until every worker process has started consuming."""
        self.wait_for_output("consuming ", timeout, count=processes)

    def worker_children(self) -> list[int]:
        return [p for p in child_pids(self.pid) if "worker_process" in _cmdline(p)]

    def scheduler_children(self) -> list[int]:
        return [p for p in child_pids(self.pid) if "scheduler.py" in _cmdline(p)]

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Tear down whatever is left, children included."""
        if self.process.poll() is None:
            kids = child_pids(self.pid)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            for kid in kids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(kid, signal.SIGKILL)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def reports(broker, name: str) -> list[dict]:
    return [json.loads(r) for r in broker.client.lrange(probes.key(name), 0, -1)]


def tokens(broker, name: str) -> list[str]:
    return [r["token"] for r in reports(broker, name)]


def wait_for_tokens(broker, name: str, expected: set[str], timeout: float = 20.0) -> list[dict]:
    wait_until(lambda: expected <= set(tokens(broker, name)), timeout, what=f"{sorted(expected)} {name}")
    return reports(broker, name)


def release(broker, token: str) -> None:
    broker.client.rpush(probes.key(f"release:{token}"), "go")


def queue_length(broker, queue: str) -> int:
    return broker.client.llen(f"{broker.namespace}:{queue}")


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
