"""Bring the database schema up to date before any worker process starts.

``python worker.py`` on a fresh laptop must just work, and several workers
starting at once on PostgreSQL must not run the same migration twice: the
one that gets the lock migrates, the others find nothing left to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator

logger = logging.getLogger("worker.schema")

#: Any constant both sides agree on; "mail" in ASCII.
_PG_LOCK_KEY = 0x6D61696C


def describe_database() -> str:
    """Where the database lives, for messages: no password."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(settings["NAME"])
    return (
        f"{connection.vendor}://{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}/{settings['NAME']}"
    )


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@contextlib.contextmanager
def _migration_lock() -> Iterator[None]:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_PG_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_PG_LOCK_KEY])
        return
    lock_path = f"{settings.DATABASES['default']['NAME']}.migrate.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def migrate() -> list[str]:
    """Apply unapplied migrations; return the ones applied."""
    from django.core.management import call_command
    from django.db import connection

    if not pending_migrations():
        return []
    with _migration_lock():
        applied = pending_migrations()
        if applied:
            logger.info("applying %d migration(s): %s", len(applied), ", ".join(applied))
            call_command("migrate", interactive=False, verbosity=0)
    connection.close()
    return applied
