"""``worker.py``'s parent process: starts, watches and restarts its children.

Dramatiq's own CLI stops every process when one child dies and never
restarts fork processes.  Here a dead child is replaced on its own while
its siblings keep consuming, and its messages go back to their queues at
once (``core.runtime.liveness``).  The supervisor also heartbeats for its
live children, so their liveness never depends on their consumers polling.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import redis

from core.runtime.child import SPEC_VARIABLE, ChildSpec
from core.runtime.config import WorkerConfig
from core.runtime.liveness import HEARTBEAT_INTERVAL, RECOVERY_INTERVAL, Liveness
from core.runtime.metrics import mark_dead

logger = logging.getLogger("worker.supervisor")

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
TICK = 0.2
#: A child that ran this long before dying is not "crash-looping".
STABLE_AFTER = 30.0
MAX_RESTART_DELAY = 30.0
#: Time beyond the shutdown timeout for a child to put messages back and exit.
EXIT_GRACE = 10.0


def restart_delay(consecutive_failures: int) -> float:
    """0.5 s after the first death, doubling while it keeps dying, at most 30 s."""
    return min(MAX_RESTART_DELAY, 0.5 * 2 ** max(0, consecutive_failures - 1))


def new_worker_id(slot: int) -> str:
    return f"{socket.gethostname()}-{os.getpid()}-w{slot}-{uuid.uuid4().hex[:8]}"


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, config: WorkerConfig, liveness: Liveness, metrics_directory: Path | None = None) -> None:
        self.config = config
        self.liveness = liveness
        self.metrics_directory = metrics_directory
        self.children: list[Child] = []
        self.signals = 0
        self.stopping_since: float | None = None
        #: Worker ids of dead children whose messages are not yet requeued
        #: (Redis may be down when they die).
        self.unrecovered: set[str] = set()
        self.redis_down_since: float | None = None
        self.next_beat = 0.0
        self.next_recovery = 0.0

    # -- children -------------------------------------------------------
    def _specs(self) -> list[ChildSpec]:
        base = ChildSpec(
            role="worker",
            slot=0,
            worker_id="",
            parent_pid=os.getpid(),
            queues=self.config.queues,
            threads=self.config.threads,
            loglevel=self.config.loglevel,
            shutdown_timeout=self.config.shutdown_timeout,
            log_format=self.config.log_format,
            metrics_dir=str(self.metrics_directory) if self.metrics_directory else None,
        )
        specs = [replace(base, slot=i + 1) for i in range(self.config.concurrency)]
        if self.config.scheduler:
            specs.append(replace(base, role="scheduler", queues=()))
        return specs

    def _command(self, spec: ChildSpec) -> list[str]:
        if spec.role == "scheduler":
            return [sys.executable, str(PROJECT_DIR / "scheduler.py")]
        return [sys.executable, "-m", "core.runtime.worker_process"]

    def start_child(self, child: Child) -> None:
        if child.spec.role == "worker":
            child.spec = replace(child.spec, worker_id=new_worker_id(child.spec.slot))
            self.liveness.register(
                child.spec.worker_id,
                {"host": socket.gethostname(), "queues": list(child.spec.queues), "slot": child.spec.slot},
            )
        env = {**os.environ, SPEC_VARIABLE: child.spec.to_env()}
        # A session of its own: a terminal's Ctrl-C reaches only us, and we
        # decide what each child is told.
        child.process = subprocess.Popen(self._command(child.spec), env=env, cwd=PROJECT_DIR, start_new_session=True)
        child.started_at = time.monotonic()
        child.restart_at = None
        logger.info("started %s (pid %d)", child.spec.label, child.process.pid)

    def _on_exit(self, child: Child, now: float) -> None:
        code = child.process.returncode
        if child.spec.worker_id:
            self.unrecovered.add(child.spec.worker_id)
        if self.metrics_directory is not None:
            mark_dead(self.metrics_directory, child.process.pid)
        if self.stopping_since is not None:
            logger.info("%s (pid %d) %s", child.spec.label, child.process.pid, describe_exit(code))
            return
        child.failures = 1 if now - child.started_at >= STABLE_AFTER else child.failures + 1
        delay = restart_delay(child.failures)
        child.restart_at = now + delay
        logger.error(
            "%s (pid %d) %s; restarting it in %.1fs", child.spec.label, child.process.pid, describe_exit(code), delay
        )

    def reap(self, now: float) -> None:
        for child in self.children:
            if child.process is not None and child.process.returncode is None and child.process.poll() is not None:
                self._on_exit(child, now)

    def restart_due(self, now: float) -> None:
        for child in self.children:
            if child.restart_at is not None and now >= child.restart_at and self.stopping_since is None:
                try:
                    self.start_child(child)
                except redis.RedisError as error:
                    self._redis_failed(error)
                    child.restart_at = now + 1.0

    # -- redis upkeep ---------------------------------------------------
    def _redis_failed(self, error: Exception) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            logger.warning("Redis unreachable (%s); retrying", error)

    def _redis_ok(self) -> None:
        if self.redis_down_since is not None:
            logger.warning("Redis reachable again after %.0fs", time.monotonic() - self.redis_down_since)
            self.redis_down_since = None

    def upkeep(self, now: float) -> None:
        try:
            if self.unrecovered:
                ids = sorted(self.unrecovered)
                requeued = self.liveness.recover(ids)
                self.unrecovered.clear()
                if requeued:
                    logger.warning("put %d message(s) of exited worker(s) back in their queues", requeued)
            if now >= self.next_beat:
                self.liveness.beat([c.spec.worker_id for c in self.children if c.running and c.spec.worker_id])
                self.next_beat = now + HEARTBEAT_INTERVAL
            if now >= self.next_recovery:
                requeued, dead = self.liveness.recover_silent()
                self.next_recovery = now + RECOVERY_INTERVAL
                if dead:
                    logger.warning(
                        "recovered %d message(s) from %d silent worker(s): %s", requeued, len(dead), ", ".join(dead)
                    )
            self._redis_ok()
        except redis.RedisError as error:
            self._redis_failed(error)

    # -- signals and the loop -------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        self.signals += 1

    def _send(self, sig: int) -> None:
        for child in self.children:
            if child.running:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(sig)

    def begin_stop(self, now: float) -> None:
        self.stopping_since = now
        for child in self.children:
            child.restart_at = None
        logger.info("stopping: letting running tasks finish (up to %.0fs)", self.config.shutdown_timeout)
        self._send(signal.SIGTERM)

    def kill_now(self) -> int:
        logger.warning("second signal: stopping at once; unfinished messages go back to their queues")
        self._send(signal.SIGKILL)
        for child in self.children:
            if child.process is not None:
                child.process.wait()
                if child.spec.worker_id:
                    self.unrecovered.add(child.spec.worker_id)
        self.upkeep(time.monotonic())
        return 1

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.children = [Child(spec) for spec in self._specs()]
        self.upkeep(time.monotonic())
        for child in self.children:
            self.start_child(child)
        try:
            return self._loop()
        finally:
            if self.metrics_directory is not None:
                shutil.rmtree(self.metrics_directory, ignore_errors=True)

    def _loop(self) -> int:
        while True:
            now = time.monotonic()
            self.reap(now)
            if self.signals >= 2:
                return self.kill_now()
            if self.signals == 1 and self.stopping_since is None:
                self.begin_stop(now)
            if self.stopping_since is not None:
                if not any(c.running for c in self.children):
                    self.upkeep(now)
                    logger.info("worker stopped")
                    return 0
                if now - self.stopping_since > self.config.shutdown_timeout + EXIT_GRACE:
                    logger.error("children still running after the shutdown timeout; killing them")
                    self._send(signal.SIGKILL)
            self.upkeep(now)
            self.restart_due(now)
            time.sleep(TICK)
