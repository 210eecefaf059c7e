"""Test set-up: a namespace of our own on whatever Redis the run uses.

The suite runs against the embedded default (no ``REDIS_URL``: a private
embedded Redis under a temporary data directory) or against real services
(``REDIS_URL``, ``DATABASE_URL``).  Every run gets its own key namespace,
so it never touches another run's keys and never flushes a shared Redis.
These variables are set before ``broker`` is imported anywhere, and
worker subprocesses inherit them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

_DATA_DIR = Path(tempfile.mkdtemp(prefix="wt-", dir="/tmp"))
os.environ.setdefault("WORKER_DATA_DIR", str(_DATA_DIR))
os.environ["WORKER_NAMESPACE"] = f"test-{uuid.uuid4().hex[:12]}"
os.environ["WORKER_TASK_MODULES"] = "tests.probes"
# Many workers run at once in the tests; the metrics tests pick a free port.
os.environ["WORKER_METRICS_PORT"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

import django  # noqa: E402
import pytest  # noqa: E402

django.setup()

import broker as broker_module  # noqa: E402
from core.runtime import embedded_redis  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, check) -> None:
    """Skip on a laptop when a service is missing; fail in CI, where it must be there."""
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        message = f"{name} is not reachable: {error}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _check_database() -> None:
    from django.db import connection

    connection.ensure_connection()
    connection.close()


@pytest.fixture(scope="session")
def services():
    require_service(f"Redis ({broker_module.describe_redis()})", broker_module.check_reachable)
    require_service("the database", _check_database)
    from core.runtime.schema import migrate

    migrate()
    yield
    if broker_module.redis_url() is None:
        embedded_redis.stop(broker_module.data_dir())
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture
def broker(services):
    """The real broker, with this run's namespace emptied before each test."""
    b = broker_module.broker
    _delete_namespace(b)
    yield b
    _delete_namespace(b)


def _delete_namespace(b) -> None:
    keys = list(b.client.scan_iter(match=f"{b.namespace}:*", count=1000))
    for i in range(0, len(keys), 500):
        b.client.delete(*keys[i : i + 500])


@pytest.fixture
def workers():
    """Start ``python worker.py ARGS`` processes; all are torn down after the test."""
    from tests.support import RunningWorker

    started = []

    def start(*args, **kwargs):
        worker = RunningWorker(*args, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def db(services):
    """The real database (SQLite in the data directory, or DATABASE_URL), our tables emptied first.

    Worker subprocesses see the same rows: tests commit for real.
    """
    _empty_tables()
    yield
    _empty_tables()


def _empty_tables() -> None:
    from django.apps import apps
    from django.db import connection

    # Children before parents, so foreign keys never block a delete.
    for model in reversed(list(apps.get_app_config("core").get_models())):
        model.objects.all().delete()
    connection.close()


@pytest.fixture
def smtp_server():
    """A scripted SMTP server on 127.0.0.1 (see tests/smtp_servers.py), stopped after the test."""
    from tests.smtp_servers import RunningSmtp, ScriptedSmtp

    server = RunningSmtp(ScriptedSmtp())
    yield server
    server.stop()
