import os

import pytest

from broker import describe_redis
from core.runtime.supervisor import MAX_RESTART_DELAY, describe_exit, restart_delay


def test_a_dead_child_is_restarted_within_a_second_the_first_time():
    assert restart_delay(1) <= 1.0


def test_a_child_that_keeps_dying_backs_off_up_to_a_cap():
    delays = [restart_delay(n) for n in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[-1] == MAX_RESTART_DELAY
    assert restart_delay(4) <= 5.0  # still within 5 s for the first few deaths


def test_exit_descriptions_name_the_signal():
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://:hunter2@redis.example:6380/2", "redis://:***@redis.example:6380/2"),
        ("rediss://app:hunter2@redis.example/0", "rediss://app:***@redis.example/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_redis_urls_are_shown_with_the_password_masked(monkeypatch, url, shown):
    monkeypatch.setenv("REDIS_URL", url)
    assert describe_redis() == shown
    assert "hunter2" not in describe_redis()


def test_the_embedded_default_is_described_by_its_socket(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("WORKER_DATA_DIR", str(tmp_path))
    assert describe_redis() == f"embedded Redis at {os.path.realpath(tmp_path)}/redis.sock"
