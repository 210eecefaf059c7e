"""Routing at actor declaration (StubBroker: pure logic, nothing consumed)."""

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from core.middleware.routing import PRIORITY_BAND, QueueRouting
from core.queues import QUEUES, UnknownQueueError


@pytest.fixture
def stub():
    return StubBroker(middleware=[QueueRouting()])


def declare(broker, module, name="task", **options):
    def fn():
        pass

    fn.__module__ = module
    fn.__name__ = name
    return dramatiq.actor(fn, broker=broker, **options)


@pytest.mark.parametrize("queue", [q for q in QUEUES if q.prefixes], ids=lambda q: q.name)
def test_an_actor_in_a_routed_module_gets_its_queue(stub, queue):
    actor = declare(stub, queue.prefixes[0] + ".sub")
    assert actor.queue_name == queue.name
    assert queue.name in stub.get_declared_queues()
    assert "default" not in stub.get_declared_queues()


def test_any_other_actor_gets_default(stub):
    assert declare(stub, "core.views").queue_name == "default"


def test_an_explicit_queue_is_kept_even_in_a_routed_module(stub):
    actor = declare(stub, "core.mda.inbound_tasks", queue_name="management")
    assert actor.queue_name == "management"


def test_an_unknown_explicit_queue_fails_at_declaration_listing_valid_queues(stub):
    with pytest.raises(UnknownQueueError) as error:
        declare(stub, "core.views", name="oops", queue_name="urgent")
    assert "actor 'oops'" in str(error.value)
    assert "valid queues are: management, inbound, outbound, default, imports, reindex" in str(error.value)
    assert "urgent" not in stub.get_declared_queues()


def test_priority_follows_queue_rank_so_higher_queues_run_first(stub):
    by_queue = {
        q.name: declare(stub, q.prefixes[0] if q.prefixes else "core.x", name=f"t_{q.name}", queue_name=q.name)
        for q in QUEUES
    }
    priorities = [by_queue[q.name].priority for q in QUEUES]
    assert priorities == sorted(priorities)  # Dramatiq runs the lowest number first
    assert by_queue["inbound"].priority < by_queue["imports"].priority


def test_an_actor_priority_orders_within_its_queue_only(stub):
    low = declare(stub, "core.mda.inbound_tasks", name="a", priority=PRIORITY_BAND - 1)
    next_queue = declare(stub, "core.mda.outbound_tasks", name="b", priority=0)
    assert low.priority < next_queue.priority


def test_a_priority_outside_the_band_is_rejected(stub):
    with pytest.raises(ValueError, match="priority must be between 0 and 99"):
        declare(stub, "core.views", priority=PRIORITY_BAND)
