from core.runtime.health import check_health

ALL = ("management", "inbound", "outbound", "default", "imports", "reindex")
NOW = 1_000_000


def worker(host="web-1", queues=ALL, age_ms=1_000):
    return {"host": host, "queues": list(queues), "heartbeat_ms": NOW - age_ms}


def test_healthy_when_a_local_worker_consuming_every_queue_beat_recently():
    healthy, reason = check_health({"a": worker()}, ALL, "web-1", NOW)
    assert healthy and reason.startswith("ok: 1 worker process(es) on web-1")


def test_unhealthy_when_no_worker_runs_on_this_host():
    healthy, reason = check_health({"a": worker(host="web-2")}, ALL, "web-1", NOW)
    assert not healthy and reason == "no worker running on web-1"


def test_unhealthy_when_the_heartbeat_is_stale():
    healthy, reason = check_health({"a": worker(age_ms=30_000)}, ALL, "web-1", NOW)
    assert not healthy and reason == "no heartbeat from a worker on web-1 for 30s"


def test_unhealthy_when_a_wanted_queue_is_not_consumed():
    workers = {"a": worker(queues=("inbound",)), "b": worker(queues=("outbound",))}
    assert check_health(workers, ("inbound", "outbound"), "web-1", NOW)[0]
    healthy, reason = check_health(workers, ("inbound", "reindex"), "web-1", NOW)
    assert not healthy and reason == "no live worker on web-1 consumes reindex"
