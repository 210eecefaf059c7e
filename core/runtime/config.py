"""Resolve the worker's options from flags and environment variables.

Functions of (flag values, environment), with no I/O beyond looking up
task modules, so every rule and every bad input is unit-tested directly.  A bad value raises
``ConfigError`` naming the option or variable it came from; nothing is
silently replaced by a default.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import dj_database_url

from core.queues import parse_queue_list, resolve_queues

#: Enough to overlap the waits of mail tasks (SMTP, IMAP, database) in one
#: process while CPU-bound parsing scales with processes; see the README.
DEFAULT_THREADS = 4
#: Fits a platform that sends SIGKILL 30 s after SIGTERM, with room to
#: put prefetched messages back and exit.
DEFAULT_SHUTDOWN_TIMEOUT = 25.0
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMATS = ("text", "json")
DEFAULT_METRICS_PORT = 9191


class ConfigError(ValueError):
    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


@dataclass(frozen=True)
class WorkerConfig:
    queues: tuple[str, ...]
    concurrency: int
    threads: int
    scheduler: bool
    loglevel: str
    shutdown_timeout: float
    log_format: str = "text"
    metrics_port: int = DEFAULT_METRICS_PORT


def _positive_int(value: str, source: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(source, f"{value!r} is not a whole number") from None
    if number < 1:
        raise ConfigError(source, f"{value!r} must be at least 1")
    return number


def _first_set(flag: str | None, env: Mapping[str, str], flag_name: str, *variables: str):
    """The first of the flag, then each variable, that is set: (value, source)."""
    if flag is not None:
        return flag, flag_name
    for variable in variables:
        if env.get(variable, "").strip() != "":
            return env[variable], variable
    return None, None


def resolve_concurrency(flag: str | None, env: Mapping[str, str]) -> int:
    value, source = _first_set(flag, env, "--concurrency", "WORKER_CONCURRENCY", "CELERY_CONCURRENCY")
    if value is None:
        return os.cpu_count() or 1
    return _positive_int(value, source)


def resolve_threads(flag: str | None, env: Mapping[str, str]) -> int:
    value, source = _first_set(flag, env, "--threads", "WORKER_THREADS")
    return DEFAULT_THREADS if value is None else _positive_int(value, source)


def resolve_loglevel(flag: str | None) -> str:
    level = (flag or "INFO").strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise ConfigError("--loglevel", f"{flag!r} is not a level; choose one of {', '.join(LOG_LEVELS)} (any case)")
    return level


def resolve_log_format(flag: str | None, env: Mapping[str, str]) -> str:
    value, source = _first_set(flag, env, "--log-format", "WORKER_LOG_FORMAT")
    if value is None:
        return "text"
    if value.strip().lower() not in LOG_FORMATS:
        raise ConfigError(source, f"{value!r} is not a log format; choose {' or '.join(LOG_FORMATS)}")
    return value.strip().lower()


def resolve_metrics_port(env: Mapping[str, str]) -> int:
    raw = env.get("WORKER_METRICS_PORT", "").strip()
    if not raw:
        return DEFAULT_METRICS_PORT
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError("WORKER_METRICS_PORT", f"{raw!r} is not a port number (0 turns metrics off)") from None
    if not 0 <= port <= 65535:
        raise ConfigError("WORKER_METRICS_PORT", f"{raw!r} is not a port number (0 turns metrics off)")
    return port


def resolve_shutdown_timeout(env: Mapping[str, str]) -> float:
    raw = env.get("WORKER_SHUTDOWN_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_SHUTDOWN_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError("WORKER_SHUTDOWN_TIMEOUT", f"{raw!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError("WORKER_SHUTDOWN_TIMEOUT", f"{raw!r} must be a positive number of seconds")
    return seconds


REDIS_SCHEMES = ("redis", "rediss", "unix")
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")


def check_redis_url(env: Mapping[str, str]) -> None:
    url = env.get("REDIS_URL", "").strip()
    if url and urlsplit(url).scheme not in REDIS_SCHEMES:
        raise ConfigError("REDIS_URL", f"must start with {', '.join(s + '://' for s in REDIS_SCHEMES)}")


def check_database_url(env: Mapping[str, str]) -> None:
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return
    if urlsplit(url).scheme not in DATABASE_SCHEMES:
        raise ConfigError("DATABASE_URL", "only PostgreSQL (postgresql://...) and SQLite (sqlite:///...) are supported")
    try:
        dj_database_url.parse(url)
    except Exception as error:  # noqa: BLE001 - the library raises several kinds
        raise ConfigError("DATABASE_URL", f"cannot be parsed: {error}") from None


def check_task_modules(env: Mapping[str, str]) -> None:
    """Every extra task module exists, so children do not crash-loop on an import error."""
    missing = []
    for name in (m.strip() for m in env.get("WORKER_TASK_MODULES", "").split(",")):
        if not name:
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise ConfigError("WORKER_TASK_MODULES", f"no module named {', '.join(repr(m) for m in missing)}")


def resolve_config(
    *,
    queues: str | None,
    exclude: str | None,
    concurrency: str | None,
    threads: str | None,
    disable_scheduler: bool,
    loglevel: str | None,
    env: Mapping[str, str],
    log_format: str | None = None,
) -> WorkerConfig:
    try:
        selected = resolve_queues(parse_queue_list(queues), parse_queue_list(exclude))
    except ValueError as error:
        source = "--queues/--exclude" if queues and exclude else ("--exclude" if exclude else "--queues")
        raise ConfigError(source, str(error)) from None
    check_redis_url(env)
    check_database_url(env)
    check_task_modules(env)
    from core.mda.outbound_settings import check_outbound_settings  # it imports ConfigError from here

    check_outbound_settings(env)
    return WorkerConfig(
        queues=tuple(selected),
        concurrency=resolve_concurrency(concurrency, env),
        threads=resolve_threads(threads, env),
        scheduler=not disable_scheduler,
        loglevel=resolve_loglevel(loglevel),
        shutdown_timeout=resolve_shutdown_timeout(env),
        log_format=resolve_log_format(log_format, env),
        metrics_port=resolve_metrics_port(env),
    )


def configure_logging(level: str, role: str, log_format: str = "text") -> None:
    """Text for people, or one JSON object a line for log shippers.

    JSON records carry ``role`` (supervisor, worker-N, scheduler) and any
    fields the code attached, such as the task fields of ``TaskLog``.
    """
    handler = logging.StreamHandler()
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
                static_fields={"role": role},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{role} %(process)d] %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler], force=True)
