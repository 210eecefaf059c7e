"""Route every actor to its queue by the module it is defined in."""

from __future__ import annotations

from dramatiq import Actor, Broker
from dramatiq.middleware import Middleware, MiddlewareError

from core.queues import DEFAULT_QUEUE, QUEUE_NAMES, UnknownQueueError, get_queue, route_module

#: Actor priority is ``rank * PRIORITY_BAND + priority given by the actor``,
#: so that an actor may order itself within its queue but never above a
#: higher queue.
PRIORITY_BAND = 100


class ActorQueueError(UnknownQueueError, MiddlewareError):
    """Raised through Dramatiq (which only lets MiddlewareError escape a hook)."""


class ActorPriorityError(MiddlewareError, ValueError):
    pass


def route_actor(module: str, declared_queue: str) -> str:
    """The queue an actor lands on.

    Dramatiq gives every actor ``default`` unless it names a queue, so
    ``default`` means "route me by module"; any other name is explicit and
    is kept (management tasks name theirs).
    """
    if declared_queue != DEFAULT_QUEUE:
        if declared_queue not in QUEUE_NAMES:
            raise UnknownQueueError([declared_queue])
        return declared_queue
    return route_module(module)


class QueueRouting(Middleware):
    """Acts at actor declaration, so producers and workers agree on queues.

    An actor naming an unknown queue fails at import with the list of
    valid queues, instead of silently creating a queue nobody consumes.
    """

    def before_declare_actor(self, broker: Broker, actor: Actor) -> None:
        try:
            queue_name = route_actor(actor.fn.__module__, actor.queue_name)
        except UnknownQueueError as error:
            raise ActorQueueError(error.names, context=f"actor {actor.actor_name!r}: ") from None
        if not 0 <= actor.priority < PRIORITY_BAND:
            raise ActorPriorityError(
                f"actor {actor.actor_name!r}: priority must be between 0 and {PRIORITY_BAND - 1} "
                "(it orders actors within their queue; the queue sets the rest)"
            )
        actor.queue_name = queue_name
        actor.priority = get_queue(queue_name).rank * PRIORITY_BAND + actor.priority
