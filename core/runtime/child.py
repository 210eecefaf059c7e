"""What every child process does first: know its spec, die with its parent."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict, dataclass

SPEC_VARIABLE = "WORKER_CHILD_SPEC"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    role: str  # "worker" or "scheduler"
    slot: int
    worker_id: str
    parent_pid: int
    queues: tuple[str, ...]
    threads: int
    loglevel: str
    shutdown_timeout: float
    log_format: str = "text"
    #: Where worker processes write their Prometheus metrics; None when metrics are off.
    metrics_dir: str | None = None

    @property
    def label(self) -> str:
        return self.role if self.role == "scheduler" else f"worker-{self.slot}"

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ChildSpec:
        raw = os.environ.get(SPEC_VARIABLE)
        if not raw:
            sys.exit("this process is started by worker.py, not by hand: run `python worker.py`")
        data = json.loads(raw)
        data["queues"] = tuple(data["queues"])
        return cls(**data)


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL us when the supervisor dies, so a ``kill -9``
    of ``worker.py`` leaves no orphan consuming messages unsupervised."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux; the parent watch below still applies
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def parent_alive(parent_pid: int) -> bool:
    return os.getppid() == parent_pid


class ChildProcess:
    """The start every child shares: its spec, its parent, its logs, its stop signal, Django."""

    def __init__(self) -> None:
        self.spec = ChildSpec.from_env()
        die_with_parent(self.spec.parent_pid)
        from core.runtime.config import configure_logging

        configure_logging(self.spec.loglevel, self.spec.label, self.spec.log_format)
        self.stop = threading.Event()
        # Only the supervisor tells a child to stop (SIGTERM); a terminal's
        # Ctrl-C reaches the supervisor, which forwards it once.  A repeated
        # SIGTERM (a platform that signals every process, plus our parent)
        # is not an order to hurry: the supervisor escalates with SIGKILL.
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
        import django

        django.setup()

    def wait_for_stop(self, logger: logging.Logger) -> None:
        """Until the supervisor says stop, or is gone."""
        while not self.stop.wait(1.0):
            if not parent_alive(self.spec.parent_pid):
                logger.error("supervisor is gone; stopping")
                return
