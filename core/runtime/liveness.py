"""Heartbeats and the recovery of a dead worker's messages, in bounded time.

Stock Dramatiq gives a dead worker's unacked messages back only during
random "maintenance", and decides a worker is dead from heartbeats that
its consumers write as a side effect of polling, which stops while a
process is busy with full prefetch.  So a killed worker's messages can
stay stranded for many minutes, while a busy one's can be handed to
another worker early.

Here the supervisor (``worker.py``'s parent process) heartbeats for each
child it knows to be alive, so a child stuck in a long C call or a long
task keeps its messages, and Dramatiq's own maintenance is switched off
(``maintenance_chance=0`` in ``broker.py``).  Recovery is explicit:

- a child that the supervisor sees exit has its messages requeued at once;
- every supervisor requeues the messages of any worker whose heartbeat is
  older than ``HEARTBEAT_TIMEOUT`` (its whole host died), every
  ``RECOVERY_INTERVAL``, so a message is back within about 20 s.

Heartbeats carry Redis's clock, not the host's, so clock skew between
hosts cannot make a live worker look dead.
"""

from __future__ import annotations

import json

import redis

from core.queues import QUEUE_NAMES

HEARTBEAT_INTERVAL = 2.0
HEARTBEAT_TIMEOUT_MS = 15_000
RECOVERY_INTERVAL = 5.0

_BEAT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for i = 1, #ARGV do
    redis.call('ZADD', KEYS[1], now, ARGV[i])
end
return now
"""

# KEYS: heartbeats zset, info hash, Dramatiq's heartbeats zset.  ARGV: namespace, timeout_ms (or -1
# for "these ids are known dead"), number of queues, queue names..., ids...
# Messages go back at the head of their queue: they were the oldest.
_RECOVER = """
local namespace = ARGV[1]
local timeout = tonumber(ARGV[2])
local nqueues = tonumber(ARGV[3])
local queues = {}
for i = 1, nqueues do queues[i] = ARGV[3 + i] end
local ids = {}
if timeout >= 0 then
    local t = redis.call('TIME')
    local now = t[1] * 1000 + math.floor(t[2] / 1000)
    ids = redis.call('ZRANGEBYSCORE', KEYS[1], 0, now - timeout)
else
    for i = 4 + nqueues, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local requeued = 0
for _, id in ipairs(ids) do
    for _, q in ipairs(queues) do
        for _, name in ipairs({q, q .. '.DQ'}) do
            local acks = namespace .. ':__acks__.' .. id .. '.' .. name
            local msgs = namespace .. ':' .. name .. '.msgs'
            local members = redis.call('SMEMBERS', acks)
            for _, mid in ipairs(members) do
                if redis.call('HEXISTS', msgs, mid) == 1 then
                    redis.call('LPUSH', namespace .. ':' .. name, mid)
                    requeued = requeued + 1
                end
            end
            redis.call('DEL', acks)
        end
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
end
-- Dramatiq's own heartbeat set gains an entry for every process that ever
-- sent a command (producers too); with its maintenance off, we prune it.
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[3], 0, t[1] * 1000 - 86400000)
return {requeued, ids}
"""


class Liveness:
    """The heartbeat registry of one namespace."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.heartbeats_key = f"{namespace}:__worker_heartbeats__"
        self.info_key = f"{namespace}:__worker_info__"
        self._beat = client.register_script(_BEAT)
        self._recover = client.register_script(_RECOVER)

    def register(self, worker_id: str, info: dict) -> None:
        self.client.hset(self.info_key, worker_id, json.dumps(info))
        self.beat([worker_id])

    def beat(self, worker_ids: list[str]) -> None:
        if worker_ids:
            self._beat(keys=[self.heartbeats_key], args=worker_ids)

    def _run_recover(self, timeout_ms: int, worker_ids: list[str]) -> tuple[int, list[str]]:
        args = [self.namespace, timeout_ms, len(QUEUE_NAMES), *QUEUE_NAMES, *worker_ids]
        keys = [self.heartbeats_key, self.info_key, f"{self.namespace}:__heartbeats__"]
        requeued, ids = self._recover(keys=keys, args=args)
        return int(requeued), [i.decode() if isinstance(i, bytes) else i for i in ids]

    def recover(self, worker_ids: list[str]) -> int:
        """Requeue every message held by workers known to be dead; how many."""
        if not worker_ids:
            return 0
        return self._run_recover(-1, worker_ids)[0]

    def recover_silent(self, timeout_ms: int = HEARTBEAT_TIMEOUT_MS) -> tuple[int, list[str]]:
        """Requeue the messages of workers silent for ``timeout_ms``."""
        return self._run_recover(timeout_ms, [])

    def now_ms(self) -> int:
        """Redis's clock, the one heartbeats are written with."""
        seconds, micros = self.client.time()
        return seconds * 1000 + micros // 1000

    def workers(self) -> dict[str, dict]:
        """Live workers (by heartbeat) with what they registered."""
        info = self.client.hgetall(self.info_key)
        beats = dict(self.client.zrange(self.heartbeats_key, 0, -1, withscores=True))
        return {k.decode(): {**json.loads(v), "heartbeat_ms": int(beats.get(k, 0))} for k, v in info.items()}
