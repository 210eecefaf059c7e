"""What every child process does first: know its spec, die with its parent."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
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
    metrics: bool = False

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
