"""Per-queue fetch limits, so urgent mail never waits behind bulk work.

Stock Dramatiq lets every queue's consumer hold ``2 × threads`` messages.
A process busy with reindexing then also holds inbound mail it cannot
start, while an idle process next to it could; and a process can fill
every thread with imports.  The limits here (read by
``core.runtime.consumer.FairConsumer`` each time it is about to fetch):

- urgent queues: a process holds, waiting, as many urgent messages as
  it has idle threads, and when it is busy at most half its threads' worth
  (at least one), so the next urgent messages run the moment threads free
  up (they are first in the in-memory priority queue), while the rest
  stay in Redis for processes that are idle.  With none held, a busy
  process would lose every freed thread to its buffered default work;
  with ``2 × threads`` held (stock), an idle neighbour would wait;
- normal queues keep Dramatiq's ``2 × threads`` for throughput;
- bulk queues together never hold more than ``threads - 1`` messages, so
  a process with more than one thread always keeps a slot for mail;
- after shutdown starts, nothing more is fetched.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from dramatiq import Broker, Worker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from core.queues import Tier, get_queue

if TYPE_CHECKING:
    from core.runtime.consumer import FairConsumer

#: Delayed messages wait in memory for their eta; as in Dramatiq, many may.
DELAY_PREFETCH_PER_THREAD = 1000


class QueuePrefetch(Middleware):
    def __init__(self) -> None:
        self.threads = 1
        self.stopping = False
        self.consumers: list[FairConsumer] = []
        #: Messages being processed right now, by queue.
        self.running: Counter[str] = Counter()
        self._lock = threading.Lock()
        #: Acks so far, and a condition consumers at their limit wait on.
        self.acks = 0
        self._acked = threading.Condition()

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.threads = worker.worker_threads
        self.stopping = False

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self.stopping = True

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            self.running[message.queue_name] += 1

    def after_process_message(self, broker: Broker, message: MessageProxy, *, result=None, exception=None) -> None:
        with self._lock:
            self.running[message.queue_name] -= 1

    after_skip_message = after_process_message

    def after_ack(self, broker: Broker, message: MessageProxy) -> None:
        with self._acked:
            self.acks += 1
            self._acked.notify_all()

    after_nack = after_ack

    def wait_for_ack(self, seen: int, timeout: float) -> None:
        """Until an ack after the ``seen``-th frees room, or ``timeout`` seconds."""
        with self._acked:
            self._acked.wait_for(lambda: self.acks != seen, timeout)

    def register(self, consumer: FairConsumer) -> None:
        self.consumers = [c for c in self.consumers if c.queue_name != consumer.queue_name]
        self.consumers.append(consumer)

    def _held_by(self, tier: Tier) -> list:
        """The consumers of ``tier``'s queues (delay queues are not counted)."""
        return [c for c in self.consumers if _tier(c.queue_name) is tier]

    def fetch_limit(self, consumer: FairConsumer) -> int:
        """How many messages ``consumer`` may hold right now (fetched, queued or running)."""
        if self.stopping:
            return 0
        tier = _tier(consumer.queue_name)
        if tier is None:
            return self.threads * DELAY_PREFETCH_PER_THREAD
        if tier is Tier.NORMAL:
            return 2 * self.threads
        held = consumer.outstanding_message_count
        if tier is Tier.URGENT:
            idle_threads = self.threads - sum(self.running.values())
            waiting = sum(c.outstanding_message_count - self.running[c.queue_name] for c in self._held_by(tier))
            return held + max(0, max(1, idle_threads, self.threads // 2) - waiting)
        bulk_held = sum(c.outstanding_message_count for c in self._held_by(tier))
        return held + max(0, max(1, self.threads - 1) - bulk_held)


def _tier(queue_name: str) -> Tier | None:
    """A queue's tier; None for a delay queue, whose messages wait for their eta."""
    return None if queue_name.endswith(".DQ") else get_queue(queue_name).tier
