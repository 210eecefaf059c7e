"""Resolve the worker's options from flags and environment variables.

Functions of (flag values, environment), with no I/O beyond looking up
task modules, so every rule and every bad input is unit-tested directly.  A bad value raises
``ConfigError`` naming the option or variable it came from; nothing is
silently replaced by a default.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import dj_database_url

from core.queues import parse_queue_list, resolve_queues
from core.schedule import MAX_INTERVAL, SCHEDULE, EnvInterval, ScheduledJob

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
    #: The jobs the scheduler fires, intervals resolved; a job set to 0 is left out.
    schedule: tuple[ScheduledJob, ...] = ()


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


DEFAULT_INBOUND_MAX_SIZE = 50 * 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def resolve_inbound_max_size(env: Mapping[str, str]) -> int:
    """``INBOUND_MAX_SIZE`` in bytes: a number, optionally with K, M or G (binary units)."""
    raw = env.get("INBOUND_MAX_SIZE", "").strip()
    if not raw:
        return DEFAULT_INBOUND_MAX_SIZE
    match = _SIZE.match(raw)
    if not match or int(match.group(1)) < 1:
        raise ConfigError("INBOUND_MAX_SIZE", f"{raw!r} is not a size; give bytes, or a number with K, M or G")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()[:1]]


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


def resolve_interval(every: int | EnvInterval, env: Mapping[str, str]) -> int:
    """A job's interval in seconds; 0 (off) only from a variable."""
    if isinstance(every, int):
        return every
    raw = env.get(every.variable, "").strip()
    if not raw:
        return every.default
    try:
        seconds = int(raw)
    except ValueError:
        raise ConfigError(every.variable, f"{raw!r} is not a whole number of seconds (0 turns the job off)") from None
    if not 0 <= seconds <= MAX_INTERVAL:
        raise ConfigError(every.variable, f"{raw!r} must be 0 (off) to {MAX_INTERVAL} seconds")
    return seconds


SCHEDULE_EXTRA = "WORKER_SCHEDULE_EXTRA"


def _import_extra(module_name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and (module_name == error.name or module_name.startswith(error.name + ".")):
            raise ConfigError(SCHEDULE_EXTRA, f"no module named {module_name!r}") from None
        raise ConfigError(SCHEDULE_EXTRA, f"importing {module_name!r} failed: {error}") from None
    except Exception as error:  # noqa: BLE001 - whatever the module raises, say so in one line
        raise ConfigError(
            SCHEDULE_EXTRA, f"importing {module_name!r} failed: {type(error).__name__}: {error}"
        ) from None


def load_extra_jobs(env: Mapping[str, str]) -> tuple[ScheduledJob, ...]:
    """The jobs ``WORKER_SCHEDULE_EXTRA`` (``module:attribute``) names, after the built-in schedule."""
    raw = env.get(SCHEDULE_EXTRA, "").strip()
    if not raw:
        return ()
    module_name, _, attribute = raw.partition(":")
    if not module_name or not attribute:
        raise ConfigError(SCHEDULE_EXTRA, f"{raw!r} is not module:attribute (e.g. myproject.schedule:JOBS)")
    module = _import_extra(module_name)
    if not hasattr(module, attribute):
        raise ConfigError(SCHEDULE_EXTRA, f"module {module_name!r} has no attribute {attribute!r}")
    value = getattr(module, attribute)
    jobs = tuple(value) if isinstance(value, list | tuple) else ()
    if not jobs or not all(isinstance(job, ScheduledJob) for job in jobs):
        raise ConfigError(SCHEDULE_EXTRA, f"{raw} is not a non-empty list or tuple of core.schedule.ScheduledJob")
    return jobs


def resolve_schedule(env: Mapping[str, str]) -> tuple[ScheduledJob, ...]:
    jobs = (*SCHEDULE, *load_extra_jobs(env))
    seen: set[str] = set()
    for job in jobs:
        if job.name in seen:
            raise ConfigError(SCHEDULE_EXTRA, f"a job named {job.name!r} is already in the schedule")
        seen.add(job.name)
    resolved = ((job, resolve_interval(job.every, env)) for job in jobs)
    return tuple(replace(job, every=seconds) for job, seconds in resolved if seconds)


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
    # Only intake reads it, but the worker usually shares the platform's environment:
    # a typo is reported now rather than at the first delivery.
    resolve_inbound_max_size(env)
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
        schedule=resolve_schedule(env),
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
