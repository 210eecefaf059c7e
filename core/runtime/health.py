"""``python worker.py --check``: is a worker on this host consuming these queues?

Reads the heartbeats the supervisors write (``core.runtime.liveness``), so
it answers from Redis alone, without talking to the worker's processes.
Only this host's workers count: a container's liveness probe must fail
when its own worker is gone, even if other hosts' workers are fine.
"""

from __future__ import annotations

#: A heartbeat is written every 2 s; allow for a couple of missed ones.
MAX_HEARTBEAT_AGE_MS = 10_000


def check_health(
    workers: dict[str, dict], queues: tuple[str, ...], host: str, now_ms: int, max_age_ms: int = MAX_HEARTBEAT_AGE_MS
) -> tuple[bool, str]:
    """(healthy, one-line reason) from the registered workers and their heartbeats."""
    local = {wid: w for wid, w in workers.items() if w.get("host") == host}
    fresh = {wid: w for wid, w in local.items() if now_ms - w["heartbeat_ms"] <= max_age_ms}
    if not fresh:
        if local:
            newest = min(now_ms - w["heartbeat_ms"] for w in local.values())
            return False, f"no heartbeat from a worker on {host} for {newest / 1000:.0f}s"
        return False, f"no worker running on {host}"
    consumed = {q for w in fresh.values() for q in w.get("queues", [])}
    missing = [q for q in queues if q not in consumed]
    if missing:
        return False, f"no live worker on {host} consumes {', '.join(missing)}"
    return True, f"ok: {len(fresh)} worker process(es) on {host} consuming {', '.join(queues)}"
