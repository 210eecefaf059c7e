#!/usr/bin/env python
"""Start the background task worker: worker processes on the chosen queues,
and the scheduler unless --disable-scheduler.  See README.md."""

from __future__ import annotations

import os
import socket
import sys

import click

from core.queues import QUEUES
from core.runtime.config import LOG_FORMATS, LOG_LEVELS, ConfigError, configure_logging, resolve_config

QUEUE_HELP = "; ".join(f"{q.rank}. {q.name}" for q in QUEUES)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--queues", "-Q", metavar="LIST", help=f"Comma-separated queues to process (default: all). {QUEUE_HELP}.")
@click.option("--exclude", "-X", metavar="LIST", help="Comma-separated queues to leave out.")
@click.option(
    "--concurrency",
    "-c",
    metavar="N",
    help="Worker processes (default: WORKER_CONCURRENCY, else CELERY_CONCURRENCY, else the CPU count).",
)
@click.option("--threads", metavar="N", help="Task threads per worker process (default: WORKER_THREADS, else 4).")
@click.option("--disable-scheduler", is_flag=True, help="Do not run the scheduler (enabled by default).")
@click.option(
    "--loglevel", "-l", metavar="LEVEL", help=f"Logging level, any case: {', '.join(LOG_LEVELS)} (default: INFO)."
)
@click.option(
    "--log-format",
    metavar="FORMAT",
    help=f"{' or '.join(LOG_FORMATS)}: json writes one object a line (default: WORKER_LOG_FORMAT, else text).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 0 if a worker on this host consuming the given queues (default: all) heartbeated "
    "in the last 10 s, else 1: a liveness probe.",
)
def main(queues, exclude, concurrency, threads, disable_scheduler, loglevel, log_format, check) -> None:
    """Run the worker processes on the selected queues, highest priority first."""
    try:
        config = resolve_config(
            queues=queues,
            exclude=exclude,
            concurrency=concurrency,
            threads=threads,
            disable_scheduler=disable_scheduler,
            loglevel=loglevel,
            log_format=log_format,
            env=os.environ,
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None

    # Imported late so that --help and bad options answer at once.
    import redis

    import broker
    from core.runtime.embedded_redis import EmbeddedRedisError
    from core.runtime.liveness import Liveness

    try:
        broker.check_reachable()
    except (redis.RedisError, EmbeddedRedisError, OSError) as error:
        click.echo(f"error: cannot reach Redis at {broker.describe_redis()}: {error}", err=True)
        sys.exit(1)
    liveness = Liveness(broker.broker.client, broker.broker.namespace)
    if check:
        sys.exit(run_check(liveness, config.queues))

    configure_logging(config.loglevel, "supervisor", config.log_format)
    prepare_database()
    metrics_directory = start_metrics(config, broker) if config.metrics_port else None
    click.echo(
        f"worker: queues {','.join(config.queues)}; {config.concurrency} process(es) x {config.threads} thread(s); "
        f"scheduler {'on' if config.scheduler else 'off'}; broker {broker.describe_redis()}; "
        f"metrics {f'on port {config.metrics_port}' if config.metrics_port else 'off'}",
        err=True,
    )
    from core.runtime.supervisor import Supervisor

    sys.exit(Supervisor(config, liveness, metrics_directory).run())


def prepare_database() -> None:
    """Apply pending migrations once, before any child starts; exit 1 if the database is unreachable."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django
    from django.db import DatabaseError

    django.setup()
    from core.runtime.schema import describe_database, migrate

    try:
        migrate()
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        click.echo(f"error: cannot prepare the database at {describe_database()}: {first_line}", err=True)
        sys.exit(1)


def run_check(liveness, queues) -> int:
    from core.runtime.health import check_health

    healthy, reason = check_health(liveness.workers(), queues, socket.gethostname(), liveness.now_ms())
    click.echo(reason, err=not healthy)
    return 0 if healthy else 1


def start_metrics(config, broker):
    from core.runtime.metrics import metrics_dir, serve_metrics

    directory = metrics_dir(broker.data_dir(), os.getpid())
    host = os.environ.get("WORKER_METRICS_HOST") or "127.0.0.1"
    try:
        serve_metrics(host, config.metrics_port, broker.broker.client, broker.broker.namespace, directory)
    except OSError as error:
        click.echo(f"error: cannot serve metrics on {host}:{config.metrics_port}: {error.strerror or error}", err=True)
        sys.exit(1)
    return directory


if __name__ == "__main__":
    main()
