"""Monitoring as an operator meets it: the health check, the metrics endpoint,
JSON logs and the dashboard, against real processes and a real broker."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.probes import PROBES
from tests.support import PROJECT_DIR, free_port, release, wait_for_tokens, wait_until


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def check(*args):
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "worker.py"), "--check", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_check_fails_without_a_worker_and_passes_with_one(broker, workers):
    result = check()
    assert result.returncode == 1
    assert result.stderr.strip() == f"no worker running on {socket.gethostname()}"

    worker = workers("-c", "1", "--queues=inbound,outbound", "--disable-scheduler")
    worker.wait_ready(1)
    result = check("--queues=inbound")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 1 worker process(es)")

    result = check()  # all queues: reindex and the others are not consumed here
    assert result.returncode == 1
    assert "consumes management, default, imports, reindex" in result.stderr

    worker.process.kill()  # the supervisor dies; its children die with it
    worker.wait(5)
    # Heartbeats stop; within the check's 10 s window plus one beat it fails.
    wait_until(lambda: check("--queues=inbound").returncode == 1, 20, interval=1, what="the check to fail")


def test_metrics_show_per_queue_counts_and_depth_after_real_processing(broker, workers):
    port = free_port()
    worker = workers("-c", "2", "--exclude=reindex", "--disable-scheduler", env={"WORKER_METRICS_PORT": str(port)})
    worker.wait_ready(2)
    for i in range(3):
        PROBES["inbound"].send(f"mail-{i}")
    PROBES["outbound"].send("bounce", fail=True)
    PROBES["reindex"].send("waiting-1")
    PROBES["reindex"].send("waiting-2")
    PROBES["default"].send("running", block=True)
    wait_for_tokens(broker, "done", {"mail-0", "mail-1", "mail-2"})
    wait_for_tokens(broker, "started", {"running"})
    wait_until(lambda: broker.client.zcard(f"{broker.namespace}:outbound.XQ") == 1, 10, what="the dead letter")
    time.sleep(1.1)  # so the oldest reindex message is at least a second old

    # Task metrics reach the shared files within a second (core/middleware/task_metrics.py).
    in_progress = 'dramatiq_messages_inprogress{actor_name="probe_default",queue_name="default"}'

    def scrape_with_task_metrics():
        text = get(f"http://127.0.0.1:{port}/metrics")
        return text if "dramatiq_message_rejects_total{" in text and f"{in_progress} 1.0" in text else None

    text = wait_until(scrape_with_task_metrics, 5, interval=0.2, what="the task metrics")
    release(broker, "running")
    wait_for_tokens(broker, "done", {"running"})
    wait_until(lambda: f"{in_progress} 0.0" in get(f"http://127.0.0.1:{port}/metrics"), 5, what="the task done")

    assert 'dramatiq_messages_total{actor_name="probe_inbound",queue_name="inbound"} 3.0' in text
    assert 'dramatiq_message_errors_total{actor_name="probe_outbound",queue_name="outbound"} 1.0' in text
    assert 'dramatiq_message_rejects_total{actor_name="probe_outbound",queue_name="outbound"} 1.0' in text
    assert 'worker_queue_messages{queue="reindex"} 2.0' in text
    assert 'worker_queue_messages{queue="inbound"} 0.0' in text
    assert 'worker_queue_dead_letters{queue="outbound"} 1.0' in text
    assert "worker_redis_up 1.0" in text
    age = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith('worker_queue_oldest_message_age_seconds{queue="reindex"}')
    )
    assert 1.0 <= age < 60


def test_a_taken_metrics_port_stops_the_worker_with_one_line(broker):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(PROJECT_DIR / "worker.py"), "-c", "1"],
            cwd=PROJECT_DIR,
            env={**os.environ, "WORKER_METRICS_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"


def test_json_logs_carry_action_queue_actor_message_id_and_duration(broker, workers):
    worker = workers("-c", "1", "--disable-scheduler", "--log-format=json")
    worker.wait_for_output('"role": "worker-1"')
    ok = PROBES["inbound"].send("fine")
    bad = PROBES["outbound"].send("broken", fail=True)
    wait_for_tokens(broker, "started", {"fine", "broken"})
    wait_until(lambda: '"task_failed"' in worker.output(), 10, what="the failure logged")

    records = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    by_action = {(r.get("action"), r.get("message_id")): r for r in records}
    succeeded = by_action[("task_succeeded", ok.message_id)]
    assert succeeded["queue"] == "inbound" and succeeded["actor"] == "probe_inbound"
    assert isinstance(succeeded["duration_ms"], int)
    assert ("task_started", ok.message_id) in by_action
    failed = by_action[("task_failed", bad.message_id)]
    assert failed["queue"] == "outbound" and failed["level"] == "ERROR"
    assert "failed on purpose" in failed["error"]


def test_the_dashboard_shows_queued_delayed_and_dead_lettered_messages(broker):
    PROBES["imports"].send("queued-one")
    PROBES["reindex"].send_with_options(args=("later",), delay=3_600_000)
    dead = PROBES["outbound"].message("dead-one")
    broker.enqueue(dead)
    # Dead-letter it the way a worker would: fetch, then nack.
    [raw] = broker.do_fetch("outbound", 1)
    redis_id = json.loads(raw)["options"]["redis_message_id"]
    broker.do_nack("outbound", redis_id)

    port = free_port()
    ui = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "worker_ui.py")],
        cwd=PROJECT_DIR,
        env={**os.environ, "WORKER_UI_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(base), 20, interval=0.2, what="the dashboard to answer")
        home = get(base + "/")
        for queue in ("management", "inbound", "outbound", "default", "imports", "reindex"):
            assert f"/queues/{queue}" in home
        assert "queued-one" in get(base + "/queues/imports/standard")
        assert "later" in get(base + "/queues/reindex/delayed")
        assert "dead-one" in get(base + "/queues/outbound/failed")
    finally:
        ui.terminate()
        ui.wait(10)


def _answers(base: str) -> bool:
    try:
        get(base + "/")
        return True
    except OSError:
        return False
