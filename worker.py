#!/usr/bin/env python
"""Start the background task worker: worker processes on the chosen queues,
and the scheduler unless --disable-scheduler.  See README.md."""

from __future__ import annotations

import os
import sys

import click

from core.queues import QUEUES
from core.runtime.config import LOG_LEVELS, ConfigError, configure_logging, resolve_config

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
def main(queues, exclude, concurrency, threads, disable_scheduler, loglevel) -> None:
    """Run the worker processes on the selected queues, highest priority first."""
    try:
        config = resolve_config(
            queues=queues,
            exclude=exclude,
            concurrency=concurrency,
            threads=threads,
            disable_scheduler=disable_scheduler,
            loglevel=loglevel,
            env=os.environ,
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    configure_logging(config.loglevel, "supervisor")

    # Imported late so that --help and bad options answer at once.
    import redis

    import broker
    from core.runtime.embedded_redis import EmbeddedRedisError
    from core.runtime.liveness import Liveness
    from core.runtime.supervisor import Supervisor

    try:
        broker.check_reachable()
    except (redis.RedisError, EmbeddedRedisError, OSError) as error:
        click.echo(f"error: cannot reach Redis at {broker.describe_redis()}: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"worker: queues {','.join(config.queues)}; {config.concurrency} process(es) x {config.threads} thread(s); "
        f"scheduler {'on' if config.scheduler else 'off'}; broker {broker.describe_redis()}",
        err=True,
    )
    liveness = Liveness(broker.broker.client, broker.broker.namespace)
    sys.exit(Supervisor(config, liveness).run())


if __name__ == "__main__":
    main()
