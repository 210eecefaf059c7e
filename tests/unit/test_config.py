import os

import pytest

from core.runtime.config import DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_THREADS, ConfigError, resolve_config


def resolve(env=None, **options):
    values = dict(
        queues=None,
        exclude=None,
        concurrency=None,
        threads=None,
        disable_scheduler=False,
        loglevel=None,
        log_format=None,
    )
    values.update(options)
    return resolve_config(env=env or {}, **values)


def test_defaults():
    config = resolve()
    assert config.concurrency == os.cpu_count()
    assert config.threads == DEFAULT_THREADS
    assert config.scheduler is True
    assert config.loglevel == "INFO"
    assert config.shutdown_timeout == DEFAULT_SHUTDOWN_TIMEOUT
    assert config.queues == ("management", "inbound", "outbound", "default", "imports", "reindex")


def test_concurrency_flag_wins_over_both_variables():
    env = {"WORKER_CONCURRENCY": "3", "CELERY_CONCURRENCY": "5"}
    assert resolve(env, concurrency="2").concurrency == 2


def test_worker_concurrency_wins_over_the_legacy_variable():
    assert resolve({"WORKER_CONCURRENCY": "3", "CELERY_CONCURRENCY": "5"}).concurrency == 3


def test_legacy_celery_concurrency_is_the_fallback():
    assert resolve({"CELERY_CONCURRENCY": "5"}).concurrency == 5


def test_an_empty_variable_counts_as_unset():
    assert resolve({"WORKER_CONCURRENCY": "", "CELERY_CONCURRENCY": "5"}).concurrency == 5


@pytest.mark.parametrize(
    "options, env, source",
    [
        ({"concurrency": "0"}, {}, "--concurrency"),
        ({"concurrency": "abc"}, {}, "--concurrency"),
        ({"concurrency": "-3"}, {}, "--concurrency"),
        ({}, {"WORKER_CONCURRENCY": "abc"}, "WORKER_CONCURRENCY"),
        ({}, {"CELERY_CONCURRENCY": "-1"}, "CELERY_CONCURRENCY"),
        ({}, {"WORKER_CONCURRENCY": "2.5"}, "WORKER_CONCURRENCY"),
        ({"threads": "0"}, {}, "--threads"),
        ({}, {"WORKER_THREADS": "many"}, "WORKER_THREADS"),
        ({"loglevel": "verbose"}, {}, "--loglevel"),
        ({}, {"WORKER_SHUTDOWN_TIMEOUT": "soon"}, "WORKER_SHUTDOWN_TIMEOUT"),
        ({}, {"WORKER_SHUTDOWN_TIMEOUT": "-5"}, "WORKER_SHUTDOWN_TIMEOUT"),
        ({"queues": "inbox"}, {}, "--queues"),
        ({}, {"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"log_format": "xml"}, {}, "--log-format"),
        ({}, {"WORKER_LOG_FORMAT": "yaml"}, "WORKER_LOG_FORMAT"),
        ({}, {"WORKER_METRICS_PORT": "http"}, "WORKER_METRICS_PORT"),
        ({}, {"WORKER_METRICS_PORT": "70000"}, "WORKER_METRICS_PORT"),
        ({}, {"DATABASE_URL": "mysql://root@localhost/mail"}, "DATABASE_URL"),
        ({}, {"DATABASE_URL": "postgresql://u@h:notaport/db"}, "DATABASE_URL"),
        ({}, {"WORKER_TASK_MODULES": "core.no_such_tasks"}, "WORKER_TASK_MODULES"),
        ({}, {"WORKER_TASK_MODULES": "nowhere.at.all"}, "WORKER_TASK_MODULES"),
        ({"exclude": "reindx"}, {}, "--exclude"),
        ({}, {"SELFCHECK_INTERVAL": "hourly"}, "SELFCHECK_INTERVAL"),
        ({}, {"SELFCHECK_INTERVAL": "-60"}, "SELFCHECK_INTERVAL"),
        ({}, {"SELFCHECK_INTERVAL": "1.5"}, "SELFCHECK_INTERVAL"),
        ({}, {"SELFCHECK_INTERVAL": "99999999999"}, "SELFCHECK_INTERVAL"),
        ({}, {"WORKER_SCHEDULE_EXTRA": "tests.scheduled_jobs"}, "WORKER_SCHEDULE_EXTRA"),
        ({}, {"WORKER_SCHEDULE_EXTRA": "tests.no_such_jobs:JOBS"}, "WORKER_SCHEDULE_EXTRA"),
        ({}, {"WORKER_SCHEDULE_EXTRA": "tests.scheduled_jobs:NO_SUCH"}, "WORKER_SCHEDULE_EXTRA"),
        ({}, {"WORKER_SCHEDULE_EXTRA": "tests.scheduled_jobs:SETTING"}, "WORKER_SCHEDULE_EXTRA"),
        ({}, {"WORKER_SCHEDULE_EXTRA": "core.schedule:SCHEDULE"}, "WORKER_SCHEDULE_EXTRA"),
    ],
)
def test_a_bad_value_is_rejected_naming_its_option_or_variable(options, env, source):
    with pytest.raises(ConfigError) as error:
        resolve(env, **options)
    assert error.value.source == source
    assert str(error.value).startswith(source)


def test_the_flag_wins_so_a_bad_legacy_variable_behind_it_is_never_read():
    assert resolve({"CELERY_CONCURRENCY": "-1"}, concurrency="2").concurrency == 2


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR", "warn", "critical"])
def test_log_levels_are_accepted_in_any_case(level):
    assert resolve(loglevel=level).loglevel in {"DEBUG", "WARNING", "ERROR", "CRITICAL"}


def test_an_unknown_log_level_lists_the_levels():
    with pytest.raises(ConfigError, match="CRITICAL, ERROR, WARNING, INFO, DEBUG"):
        resolve(loglevel="loud")


def test_nothing_left_after_exclusions_is_an_error():
    with pytest.raises(ConfigError, match="no queue left"):
        resolve(queues="inbound", exclude="inbound")


def test_disable_scheduler():
    assert resolve(disable_scheduler=True).scheduler is False


def test_threads_from_the_environment():
    assert resolve({"WORKER_THREADS": "8"}).threads == 8


def test_metrics_are_on_port_9191_by_default_and_0_turns_them_off():
    assert resolve().metrics_port == 9191
    assert resolve({"WORKER_METRICS_PORT": "0"}).metrics_port == 0


def test_log_format_from_flag_or_variable():
    assert resolve().log_format == "text"
    assert resolve({"WORKER_LOG_FORMAT": "JSON"}).log_format == "json"
    assert resolve({"WORKER_LOG_FORMAT": "json"}, log_format="text").log_format == "text"


def test_a_malformed_inbound_max_size_stops_the_worker_at_start():
    with pytest.raises(ConfigError, match="INBOUND_MAX_SIZE: 'lots'"):
        resolve({"INBOUND_MAX_SIZE": "lots"})


def test_the_schedule_has_the_seed_jobs_with_a_selfcheck_every_600_seconds_by_default():
    schedule = {job.name: job.interval for job in resolve().schedule}
    assert schedule == {
        "retry_pending_messages": 300,
        "system_selfcheck": 600,
        "process_inbound_queue": 300,
        "purge_dead_letters": 3600,
        "purge_delivered_inbound": 3600,
    }


def test_selfcheck_interval_sets_the_selfcheck_and_0_turns_it_off():
    assert {job.name: job.interval for job in resolve({"SELFCHECK_INTERVAL": "60"}).schedule}["system_selfcheck"] == 60
    names = [job.name for job in resolve({"SELFCHECK_INTERVAL": "0"}).schedule]
    assert "system_selfcheck" not in names
    assert names == ["retry_pending_messages", "process_inbound_queue", "purge_dead_letters", "purge_delivered_inbound"]


def test_worker_schedule_extra_adds_its_jobs_after_the_seed_jobs():
    schedule = resolve({"WORKER_SCHEDULE_EXTRA": "tests.scheduled_jobs:EVERY_SECOND"}).schedule
    assert [job.name for job in schedule][-1] == "tick_probe"
    assert schedule[-1].interval == 1


def test_a_schedule_extra_module_that_fails_to_import_is_named_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "broken_jobs.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as error:
        resolve({"WORKER_SCHEDULE_EXTRA": "broken_jobs:JOBS"})
    assert str(error.value) == (
        "WORKER_SCHEDULE_EXTRA: importing 'broken_jobs' failed: No module named 'no_such_dependency'"
    )
