"""The Redis consumer, with fair fetch limits and head-of-queue requeues."""

from __future__ import annotations

from collections.abc import Iterable

import redis
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.errors import ConnectionClosed

from core.middleware.prefetch import QueuePrefetch

# Dramatiq's own requeue pushes prefetched messages to the *tail* on
# shutdown, so they lose their place behind everything enqueued since.
# ARGV: namespace, queue name, redis message ids in fetch order.
_REQUEUE_AT_HEAD = """
local acks = ARGV[1] .. ':__acks__.' .. ARGV[2] .. '.' .. ARGV[3]
local queue = ARGV[1] .. ':' .. ARGV[3]
for i = #ARGV, 4, -1 do
    if redis.call('SREM', acks, ARGV[i]) == 1 and redis.call('HEXISTS', queue .. '.msgs', ARGV[i]) == 1 then
        redis.call('LPUSH', queue, ARGV[i])
    end
end
"""


class FairConsumer(_RedisConsumer):
    """``prefetch`` is asked of ``QueuePrefetch`` at every fetch instead of fixed at start."""

    def __init__(self, broker, queue_name: str, prefetch: int, timeout: int, policy: QueuePrefetch) -> None:
        self.policy = policy
        super().__init__(broker, queue_name, prefetch, timeout)
        self._requeue_at_head = broker.client.register_script(_REQUEUE_AT_HEAD)
        policy.register(self)

    @property
    def prefetch(self) -> int:  # type: ignore[override]
        return self.policy.fetch_limit(self)

    @prefetch.setter
    def prefetch(self, value: int) -> None:
        pass  # the policy decides

    def __next__(self):
        # At its limit, Dramatiq's consumer sleeps with a growing back-off (up to
        # the poll timeout) before it looks again, while a thread that finished
        # meanwhile sits idle.  Here it wakes at the next ack instead.
        if not self.message_cache:
            seen = self.policy.acks
            if self.outstanding_message_count >= self.prefetch:
                self.policy.wait_for_ack(seen, self.timeout / 1000)
                return None
        return super().__next__()

    def requeue(self, messages: Iterable) -> None:
        message_ids = [m.options["redis_message_id"] for m in messages]
        if not message_ids:
            return
        try:
            self._requeue_at_head(args=[self.broker.namespace, self.broker.broker_id, self.queue_name, *message_ids])
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None
