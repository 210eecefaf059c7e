import pytest

from core.queues import QUEUE_NAMES, QUEUES, UnknownQueueError, parse_queue_list, resolve_queues, route_module


def test_six_queues_in_priority_order():
    assert QUEUE_NAMES == ("management", "inbound", "outbound", "default", "imports", "reindex")
    assert [q.rank for q in QUEUES] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "module, queue",
    [
        ("core.mda.inbound_tasks", "inbound"),
        ("core.mda.inbound_tasks.spam", "inbound"),
        ("core.mda.outbound_tasks", "outbound"),
        ("core.services.importer.tasks", "imports"),
        ("core.services.importer.tasks.mbox", "imports"),
        ("core.services.search.tasks", "reindex"),
        ("core.maintenance_tasks", "default"),
        ("somewhere.else", "default"),
    ],
)
def test_each_routed_prefix_lands_on_its_queue(module, queue):
    assert route_module(module) == queue


def test_a_sibling_module_sharing_the_prefix_letters_is_not_routed():
    assert route_module("core.mda.inbound_tasks_old") == "default"


def test_queues_are_returned_in_priority_order_whatever_order_they_were_typed_in():
    assert resolve_queues(["reindex", "inbound", "default"], []) == ["inbound", "default", "reindex"]


def test_no_queues_means_all_queues():
    assert resolve_queues([], []) == list(QUEUE_NAMES)


def test_exclusions_are_removed():
    assert resolve_queues([], ["reindex", "imports"]) == ["management", "inbound", "outbound", "default"]


def test_unknown_queue_is_rejected_with_valid_names():
    with pytest.raises(UnknownQueueError) as error:
        resolve_queues(["inbound", "inbox", "spam"], [])
    message = str(error.value)
    assert "'inbox'" in message and "'spam'" in message
    assert "management, inbound, outbound, default, imports, reindex" in message


def test_unknown_excluded_queue_is_rejected_too():
    with pytest.raises(UnknownQueueError, match="'reindx'"):
        resolve_queues([], ["reindx"])


def test_excluding_everything_is_an_error():
    with pytest.raises(ValueError, match="no queue left"):
        resolve_queues(["inbound"], ["inbound"])


def test_queue_lists_tolerate_spaces_and_empty_items():
    assert parse_queue_list(" inbound, ,outbound ,") == ["inbound", "outbound"]
    assert parse_queue_list(None) == []
