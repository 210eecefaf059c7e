"""Claim a tick and enqueue its message in one atomic step in Redis.

Every scheduler of the fleet fires every tick; the first to claim the
tick's key enqueues its message, in the same Lua script, so the message
is there exactly when the claim is (a scheduler killed mid-way leaves
neither).  The others find the key taken and enqueue nothing.  APScheduler
schedulers sharing a job store do not coordinate like this: three of them
fire every tick three times.
"""

from __future__ import annotations

from uuid import uuid4

from dramatiq import Broker, Message

from core.runtime.ticks import claim_ttl
from core.schedule import ScheduledJob

# KEYS: the claim, the queue's message hash, the queue.  ARGV: claim TTL
# (ms), the message's Redis id, the encoded message.  The last two writes
# are what Dramatiq's dispatch.lua does for "enqueue".
_CLAIM_AND_ENQUEUE = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1]) then
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
    redis.call('RPUSH', KEYS[3], ARGV[2])
    return 1
end
return 0
"""


def tick_message(job: ScheduledJob, tick: int, now: float) -> Message:
    """The message ``actor.send()`` would enqueue for the job's actor, built without importing it."""
    kwargs = {job.tick_kwarg: tick} if job.tick_kwarg else {}
    return Message(
        queue_name=job.queue,
        actor_name=job.actor_name,
        args=(),
        kwargs=kwargs,
        # The option Dramatiq's RedisBroker.enqueue adds: the message's key in Redis.
        options={"redis_message_id": str(uuid4())},
        message_timestamp=int(now * 1000),
    )


def claim_key(namespace: str, job: ScheduledJob, tick: int) -> str:
    return f"{namespace}:__schedule__:{job.name}:{tick}"


class TickClaimer:
    """Claims ticks on the broker's Redis and enqueues their messages."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._script = broker.client.register_script(_CLAIM_AND_ENQUEUE)

    def claim(self, job: ScheduledJob, tick: int, now: float) -> Message | None:
        """The enqueued message if this call claimed the tick, None if another scheduler had.

        Raises ``redis.RedisError`` when Redis cannot be reached; the
        claim is then either made with its message enqueued, or not made.
        """
        message = tick_message(job, tick, now)
        # The broker's enqueue hooks run as for any enqueue, so middleware
        # cannot tell a scheduled message from one sent by code.
        self.broker.emit_before("enqueue", message, None)
        ns = self.broker.namespace
        redis_id = message.options["redis_message_id"]
        claimed = self._script(
            keys=[claim_key(ns, job, tick), f"{ns}:{job.queue}.msgs", f"{ns}:{job.queue}"],
            args=[claim_ttl(job.interval) * 1000, redis_id, message.encode()],
        )
        if not claimed:
            return None
        self.broker.emit_after("enqueue", message, None)
        return message
