"""``python worker.py`` refuses bad input with a clear message, never a traceback."""

import os
import subprocess
import sys

import pytest

from tests.support import PROJECT_DIR


def run_worker(*args, env=None, timeout=30):
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "worker.py"), *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args, env, expected",
    [
        (["--queues=inbound,inbox"], {}, "unknown queue 'inbox'; valid queues are: management, inbound"),
        (["-Q", "spam,eggs"], {}, "unknown queues 'spam', 'eggs'"),
        (["--exclude=reindx"], {}, "--exclude: unknown queue 'reindx'"),
        (["-Q", "inbound", "-X", "inbound"], {}, "no queue left to consume"),
        (["-c", "0"], {}, "--concurrency: '0' must be at least 1"),
        (["-c", "abc"], {}, "--concurrency: 'abc' is not a whole number"),
        ([], {"WORKER_CONCURRENCY": "abc"}, "WORKER_CONCURRENCY: 'abc' is not a whole number"),
        ([], {"CELERY_CONCURRENCY": "-1"}, "CELERY_CONCURRENCY: '-1' must be at least 1"),
        ([], {"WORKER_THREADS": "lots"}, "WORKER_THREADS: 'lots' is not a whole number"),
        (["--threads", "0"], {}, "--threads: '0' must be at least 1"),
        (["--loglevel=chatty"], {}, "--loglevel: 'chatty' is not a level; choose one of CRITICAL, ERROR"),
        ([], {"WORKER_SHUTDOWN_TIMEOUT": "never"}, "WORKER_SHUTDOWN_TIMEOUT: 'never' is not a number"),
        (["--no-such-option"], {}, "No such option '--no-such-option'"),
        ([], {"DATABASE_URL": "mysql://root@localhost/mail"}, "DATABASE_URL: only PostgreSQL"),
        ([], {"REDIS_URL": "http://localhost:6379"}, "REDIS_URL: must start with redis://"),
        ([], {"WORKER_TASK_MODULES": "core.typo_tasks"}, "WORKER_TASK_MODULES: no module named 'core.typo_tasks'"),
        ([], {"INBOUND_MAX_SIZE": "huge"}, "INBOUND_MAX_SIZE: 'huge' is not a size"),
        ([], {"SELFCHECK_INTERVAL": "hourly"}, "SELFCHECK_INTERVAL: 'hourly' is not a whole number of seconds"),
        ([], {"SELFCHECK_INTERVAL": "-60"}, "SELFCHECK_INTERVAL: '-60' must be 0 (off) to"),
        ([], {"WORKER_SCHEDULE_EXTRA": "core.typo:JOBS"}, "WORKER_SCHEDULE_EXTRA: no module named 'core.typo'"),
        ([], {"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY: 'ssl' is not one of none, starttls, tls"),
        ([], {"SELFCHECK_TIMEOUT": "1h"}, "SELFCHECK_TIMEOUT: '1h' is not a number of seconds"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(args, env, expected):
    result = run_worker(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_help_lists_every_queue_in_priority_order():
    result = run_worker("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "1. management; 2. inbound; 3. outbound; 4. default; 5. imports; 6. reindex" in text
    for option in ("--queues", "-Q", "--exclude", "-X", "--concurrency", "-c", "--disable-scheduler", "--loglevel"):
        assert option in result.stdout


def test_unreachable_redis_is_one_line_with_the_password_masked():
    # Port 1 on loopback: nothing listens there.
    result = run_worker(env={"REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot reach Redis at redis://:***@127.0.0.1:1/0")
    assert "hunter2" not in result.stderr


def test_unreachable_database_is_one_line_without_the_password(services):
    result = run_worker(env={"DATABASE_URL": "postgresql://mail:hunter2@127.0.0.1:9/mail"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot prepare the database at postgresql://127.0.0.1:9/mail: "), result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_log_level_is_accepted_in_any_case_and_reaches_the_processes(broker):
    from tests.support import RunningWorker

    worker = RunningWorker("--loglevel=debug", "-c", "1", "--disable-scheduler")
    try:
        worker.wait_ready(1)
        assert " DEBUG [" in worker.output()
    finally:
        worker.stop()
