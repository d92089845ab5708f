"""`OrderPager`, the request planner of the orders pass, driven by an in-memory fake Order Desk."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from source_orderdesk.paging import MAX_PASSES_OVER_ONE_SECOND, OrderPager, PageRequest, PagingError

from .fake_order_desk import AFTER_THE_SYNC, FakeOrderDesk, OrdersLeave, Run, drain, floor_probe, sort_probe

START = "2024-03-05 00:00:00"
END = "2024-03-05 23:59:59"
_BASE = datetime(2024, 3, 5, 10, 0, 0)


def at(second: int) -> str:
    """`2024-03-05 10:00:00` plus `second` seconds, in Order Desk's layout."""
    return (_BASE + timedelta(seconds=second)).strftime("%Y-%m-%d %H:%M:%S")


def store(*seconds: int, first_id: int = 1) -> Dict[str, str]:
    """Orders with ids first_id, first_id+1, ... updated at the given seconds."""
    return {str(first_id + n): at(second) for n, second in enumerate(seconds)}


def verify_sort(pager: OrderPager, latest: Dict[str, str]) -> None:
    """Answers the pending sort probe as Order Desk does when it honours `order_by`: with `latest` (a different
    order than the first of the probed page) and, if asked, with no order before the page, so that the pager
    goes on with the request it planned."""
    assert pager.mode == "sort probe"
    assert pager.next_request.descending and pager.next_request.limit == 1
    assert pager.accept([latest], None, 1) == []
    if pager.mode == "sort probe":
        assert not pager.next_request.descending and pager.next_request.limit == 1
        assert pager.accept([], 0, 1) == []
    assert pager.mode != "sort probe"


# --- requests and params ------------------------------------------------------------------------


def test_given_a_window_when_planning_then_first_request_is_the_whole_window_sorted_by_date_updated_from_offset_0() -> None:
    pager = OrderPager(START, END, page_size=50)

    assert pager.next_request == PageRequest(START, END, 0, "date_updated")
    assert pager.next_request.params() == {
        "modified_start_date": START,
        "modified_end_date": END,
        "order_by": "date_updated",
        "order": "asc",
    }


def test_given_an_offset_request_when_building_params_then_offset_is_sent_and_unsorted_requests_omit_order_by() -> None:
    assert PageRequest(at(0), at(0), 100).params()["offset"] == 100
    assert "offset" not in PageRequest(at(0), at(0), 0).params()
    unsorted = PageRequest(at(0), at(5), 0, sort=None).params()
    assert "order_by" not in unsorted and "order" not in unsorted


def test_given_a_request_sorted_by_id_when_building_params_then_it_asks_for_id_ascending() -> None:
    params = PageRequest(at(5), at(5), 4, sort="id").params()

    assert params == {"modified_start_date": at(5), "modified_end_date": at(5), "order_by": "id", "order": "asc", "offset": 4}


def test_given_the_sort_probe_when_building_params_then_it_asks_for_one_order_by_date_updated_descending() -> None:
    assert sort_probe(START, END).params() == {
        "modified_start_date": START,
        "modified_end_date": END,
        "order_by": "date_updated",
        "order": "desc",
        "limit": 1,
    }


def test_given_start_after_end_when_planning_then_no_request_is_made() -> None:
    pager = OrderPager(END, START, page_size=50)

    assert pager.next_request is None
    assert pager.checkpoint is None


def test_given_no_pending_request_when_accepting_a_page_then_it_raises() -> None:
    pager = OrderPager(END, START, page_size=50)

    with pytest.raises(RuntimeError):
        pager.accept([], 0)


# --- how paging ends ----------------------------------------------------------------------------


def test_given_an_empty_window_when_paging_then_one_request_and_no_checkpoint() -> None:
    api = FakeOrderDesk({})

    run = drain(OrderPager(START, END, page_size=50), api, limit=50)

    assert run.emitted == [] and len(run.requests) == 1
    assert run.checkpoints == [None]


def test_given_a_full_page_that_reaches_total_records_when_paging_then_it_stops_without_another_request() -> None:
    api = FakeOrderDesk(store(1, 2, 3))

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert len(run.requests) == 1
    assert run.ids == ["1", "2", "3"]
    assert run.checkpoints == [at(3)]


def test_given_no_total_records_and_a_short_page_when_paging_then_it_stops() -> None:
    api = FakeOrderDesk(store(1, 2, 3, 4), omit_total=True)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.ids == ["1", "2", "3", "4"]
    # [1,2,3] is full: the sort probe answers [4], so it asks again from second 3 and gets [3,4], a short page
    # (without totals, the probe's total cannot say that nothing precedes [1], so that is asked too)
    assert run.requests == [PageRequest(START, END), sort_probe(at(1), END), floor_probe(START, at(0)), PageRequest(at(3), END)]


def test_given_no_total_records_and_an_empty_page_when_paging_then_it_stops() -> None:
    pager = OrderPager(START, END, page_size=2)
    pager.accept([{"id": "1", "date_updated": at(1)}, {"id": "2", "date_updated": at(2)}], None)
    verify_sort(pager, {"id": "3", "date_updated": at(3)})

    assert pager.next_request == PageRequest(at(2), END)
    assert pager.accept([], None) == []
    assert pager.next_request is None


def test_given_api_clamps_the_limit_when_paging_then_the_echoed_limit_decides_a_short_page() -> None:
    pager = OrderPager(START, END, page_size=500)
    page = [{"id": str(n), "date_updated": at(n)} for n in range(1, 101)]

    pager.accept(page, None, limit=100)  # 100 < 500 asked, but it is all Order Desk would give

    assert pager.next_request == sort_probe(at(1), END)  # a full page, so the sort is probed before going on
    verify_sort(pager, {"id": "101", "date_updated": at(101)})
    assert pager.next_request == PageRequest(at(100), END)


# --- keyset paging --------------------------------------------------------------------------------


def test_given_three_pages_of_distinct_seconds_when_paging_then_each_request_starts_at_the_last_second_of_the_previous_page() -> (
    None
):
    api = FakeOrderDesk(store(1, 2, 3, 4, 5, 6, 7))

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.requests == [
        PageRequest(START, END),
        # once per sync, after the first full page: [7] is not [1], and its total (7) is the page's, so nothing
        # precedes [1]: the sort is honoured
        sort_probe(at(1), END),
        PageRequest(at(3), END),
        PageRequest(at(5), END),
    ]  # [5, 6, 7] reaches total_records (3 left from second 5), so paging stops there
    assert all(request.offset == 0 for request in run.requests)
    assert run.ids == ["1", "2", "3", "4", "5", "6", "7"]


def test_given_a_page_boundary_inside_a_second_when_paging_then_reread_boundary_orders_are_dropped_by_id() -> None:
    # 3 and 4 share second 10; the first page ends with them, the next one starts with them again.
    api = FakeOrderDesk({"1": at(1), "2": at(2), "3": at(10), "4": at(10), "5": at(10), "6": at(11)})

    run = drain(OrderPager(START, END, page_size=4), api, limit=4)

    assert run.requests[1:3] == [sort_probe(at(1), END), PageRequest(at(10), END)]
    assert run.ids == ["1", "2", "3", "4", "5", "6"]


def test_given_an_order_updated_at_the_same_boundary_second_as_a_new_one_when_paging_then_the_new_one_is_kept() -> None:
    pager = OrderPager(START, END, page_size=2)
    pager.accept([{"id": "1", "date_updated": at(1)}, {"id": "2", "date_updated": at(5)}], 4)
    verify_sort(pager, {"id": "4", "date_updated": at(6)})

    fresh = pager.accept([{"id": "2", "date_updated": at(5)}, {"id": "3", "date_updated": at(5)}], 3)

    assert [order["id"] for order in fresh] == ["3"]


def test_given_a_keyset_page_when_accepted_then_checkpoint_is_its_last_second_and_never_moves_back() -> None:
    api = FakeOrderDesk(store(1, 2, 3, 3, 3, 4))

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.requests[1] == sort_probe(at(1), END)
    assert run.checkpoints[:2] == [None, at(3)]  # the first page's checkpoint waits for the sort probe's answer
    assert run.checkpoints[1:] == sorted(run.checkpoints[1:])
    assert run.checkpoints[-1] == at(4)


def test_given_many_pages_when_paging_then_every_id_is_handed_out_exactly_once() -> None:
    seconds = [n // 3 for n in range(300)]  # three orders per second
    api = FakeOrderDesk(store(*seconds))

    run = drain(OrderPager(START, END, page_size=20), api, limit=20)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 301)]
    assert not [order_id for order_id, count in Counter(run.ids).items() if count > 1]


# --- one second holding more orders than a page (bulk import) -------------------------------------


def test_given_a_second_holding_more_orders_than_a_page_when_paging_then_that_second_is_paged_by_offset() -> None:
    api = FakeOrderDesk({**store(5, 5, 5, 5, 5, 5, 5), "8": at(9)})

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.requests == [
        PageRequest(START, END),  # [1, 2, 3]: the whole page is second 5 and there is more
        sort_probe(at(5), END),  # [8]: not [1], so the sort is honoured (and its total, 8, says nothing precedes [1])
        # one pass over that second alone, from offset 0 and sorted by id (the page above is not counted)
        PageRequest(at(5), at(5), 0, "id"),
        PageRequest(at(5), at(5), 3, "id"),
        PageRequest(at(5), at(5), 6, "id"),
        PageRequest(at(6), END),  # then keyset paging resumes after that second
    ]
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 9)]
    assert len(run.ids) == 8


def test_given_a_bulk_second_when_paging_then_mode_switches_to_second_and_back_to_keyset() -> None:
    api = FakeOrderDesk({**store(5, 5, 5, 5), "5": at(9), "6": at(10)})
    pager = OrderPager(START, END, page_size=2)

    modes = []
    while (request := pager.next_request) is not None:
        page, total = api.query(request, 2)
        pager.accept(page, total, 2)
        modes.append(pager.mode)

    assert "second" in modes
    assert modes[-1] == "keyset"


def test_given_the_bulk_second_is_the_last_in_the_window_when_paging_then_no_request_follows_it() -> None:
    api = FakeOrderDesk(store(5, 5, 5, 5, 5))

    run = drain(OrderPager(START, END, page_size=2), api, limit=2)

    # second 5 held all 5 orders of the range, so nothing is asked for after it
    assert run.requests == [
        PageRequest(START, END),
        # [5], of the page's own second: the sort may be honoured (nothing follows second 5) or ignored; the
        # pager goes on because the probe's total (5) is the page's: nothing precedes second 5
        sort_probe(at(5), END),
        PageRequest(at(5), at(5), 0, "id"),
        PageRequest(at(5), at(5), 2, "id"),
        PageRequest(at(5), at(5), 4, "id"),
    ]
    assert sorted(run.ids) == ["1", "2", "3", "4", "5"]
    assert len(run.ids) == 5


def test_given_a_completed_bulk_second_when_paging_then_checkpoint_is_that_second() -> None:
    api = FakeOrderDesk({**store(5, 5, 5, 5, 5), "6": at(8)})
    pager = OrderPager(START, END, page_size=2)

    checkpoints = []
    while (request := pager.next_request) is not None:
        page, total = api.query(request, 2)
        pager.accept(page, total, 2)
        checkpoints.append((request, pager.checkpoint))

    in_second = [checkpoint for request, checkpoint in checkpoints if request.start == request.end == at(5)]
    # While the second is paged the checkpoint stays below it (a restart re-reads all of it) ...
    assert all(checkpoint is None or checkpoint < at(5) for checkpoint in in_second[:-1])
    # ... and once every order of it was seen, it moves to it.
    assert in_second[-1] == at(5)
    assert checkpoints[-1][1] == at(8)


def test_given_ties_come_back_in_the_same_order_each_query_when_paging_a_bulk_second_then_every_order_is_read_in_one_pass() -> (
    None
):
    api = FakeOrderDesk(store(*([5] * 12)))

    run = drain(OrderPager(START, END, page_size=4), api, limit=4)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 13)]
    assert len(run.ids) == 12
    offsets = [request.offset for request in run.requests if request.start == request.end == at(5)]
    assert len(offsets) == len(set(offsets))  # no offset of the second was read twice: one pass sufficed


def test_given_ties_come_back_in_an_order_that_depends_on_the_offset_when_paging_a_bulk_second_then_every_order_is_read() -> None:
    api = FakeOrderDesk(store(*([5] * 12)), shuffle_ties=True, seed=3)

    run = drain(OrderPager(START, END, page_size=4), api, limit=4)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 13)]
    assert len(run.ids) == 12
    # the second is read sorted by id, which has no ties, so the shuffled date_updated ties cannot matter
    assert [r for r in run.requests if r.start == r.end] == [PageRequest(at(5), at(5), offset, "id") for offset in (0, 4, 8)]


def _bulk_import(count: int, second: int) -> tuple[Dict[str, str], Dict[str, str]]:
    """`count` orders added, and last updated, in the same second: ties under date_added and date_updated."""
    orders = store(*([second] * count))
    return orders, {order_id: at(0) for order_id in orders}


def test_given_order_by_id_ignored_and_ties_reshuffled_per_query_when_paging_a_bulk_second_then_passes_together_read_all() -> (
    None
):
    orders, added = _bulk_import(12, second=5)
    api = FakeOrderDesk(orders, sortable=("date_updated",), added=added, shuffle_ties=True, ties_vary_per_query=True, seed=1)

    run = drain(OrderPager(START, END, page_size=4), api, limit=4)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 13)]
    assert len(run.ids) == 12
    passes = sum(1 for r in run.requests if r.start == r.end == at(5) and r.offset == 0)
    assert 1 < passes <= MAX_PASSES_OVER_ONE_SECOND  # no single pass saw all 12, the passes together did
    # at(5) if the probe confirmed the sort; the window's end if it could not (both: nothing after them is unread)
    assert run.checkpoints[-1] in (at(5), END)


def test_given_order_by_id_ignored_and_ties_fixed_per_offset_when_paging_a_bulk_second_then_a_paging_error_stops_the_sync() -> (
    None
):
    # Every pass gets the very same pages, which overlap and so miss orders: completeness can never be
    # proven, and the pager must say so rather than move past the second.
    orders, added = _bulk_import(12, second=5)
    api = FakeOrderDesk(orders, sortable=("date_updated",), added=added, shuffle_ties=True, seed=1)
    pager = OrderPager(START, END, page_size=4)

    with pytest.raises(PagingError, match="kept changing"):
        drain(pager, api, limit=4)
    assert pager.checkpoint is None or pager.checkpoint < at(5)
    assert sum(1 for r in api.requests if r.start == r.end and r.offset == 0) == MAX_PASSES_OVER_ONE_SECOND


def test_given_an_order_leaves_a_bulk_second_mid_pass_when_paging_then_the_second_is_read_again_and_none_is_lost() -> None:
    def update_order_1_before_the_fourth_query(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 3:
            api.update("1")

    api = FakeOrderDesk({**store(5, 5, 5, 5, 5, 5, 5), "8": at(9)}, before_query=update_order_1_before_the_fourth_query)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.requests == [
        PageRequest(START, END),  # [1, 2, 3]
        sort_probe(at(5), END),  # [8]
        PageRequest(at(5), at(5), 0, "id"),  # [1, 2, 3] of 7
        PageRequest(at(5), at(5), 3, "id"),  # order 1 left: [5, 6, 7] of 6, and order 4 slid below offset 3
        PageRequest(at(5), at(5), 0, "id"),  # 6 < 7 ids since the first answer, so read again: [2, 3, 4] of 6
        # 6 ids returned since the answer that counted 6: all of it, without reading offset 3 again
        PageRequest(at(6), END),  # [8]
    ]
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 9)]  # order 1 was handed out before it left
    assert len(run.ids) == len(set(run.ids))


def test_given_an_order_leaves_a_bulk_second_right_after_the_first_page_when_paging_then_none_is_lost() -> None:
    def update_order_1_after_the_first_page(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 1:
            api.update("1")

    # Second 5 holds orders 1..5, page size 2. Page 1 (whole window) = [1, 2]. Then order 1 is updated, so
    # second 5 holds [2, 3, 4, 5]. Continuing the window's page at offset 2 would return [4, 5] and skip
    # order 3; the second is read from its own offset 0 instead, and that first page is not counted.
    api = FakeOrderDesk({**store(5, 5, 5, 5, 5), "6": at(50)}, before_query=update_order_1_after_the_first_page)

    run = drain(OrderPager(START, END, page_size=2), api, limit=2)

    assert "3" in run.ids
    assert sorted(run.ids, key=int) == ["1", "2", "3", "4", "5", "6"]
    assert len(run.ids) == len(set(run.ids))


def test_given_no_total_records_and_an_order_leaves_a_bulk_second_mid_pass_when_paging_then_none_is_lost() -> None:
    def update_order_1_before_the_fourth_query(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 3:
            api.update("1")

    # Without totals: [1, 2, 3] (window), [8] and [] (sort probe), [1, 2, 3] (second, offset 0), then order 1 leaves, so
    # offset 3 of [2..7] is [5, 6, 7]; order 4 is never returned unless the second is read again.
    api = FakeOrderDesk(
        {**store(5, 5, 5, 5, 5, 5, 5), "8": at(9)}, omit_total=True, before_query=update_order_1_before_the_fourth_query
    )

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 9)]
    assert len(run.ids) == len(set(run.ids))
    assert run.checkpoints[-1] == at(9)


def test_given_no_total_records_and_a_bulk_second_when_paging_then_it_is_complete_once_all_its_last_page_counted_came_back() -> (
    None
):
    api = FakeOrderDesk({**store(5, 5, 5, 5, 5, 5, 5), "8": at(9)}, omit_total=True)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    one_pass = [PageRequest(at(5), at(5), offset, "id") for offset in (0, 3, 6)]
    assert run.requests == [
        PageRequest(START, END),
        sort_probe(at(5), END),
        floor_probe(START, at(4)),  # without totals, asked: nothing precedes second 5
        *one_pass,  # [1, 2, 3] [4, 5, 6] [7]: its short last page says the second held 6 + 1 orders
        one_pass[0],  # [1, 2, 3]
        one_pass[1],  # [4, 5, 6]: with [7], 7 orders returned since that count: complete
        PageRequest(at(6), END),
    ]
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 9)]
    assert len(run.ids) == len(set(run.ids))
    second_checkpoints = [c for r, c in zip(run.requests, run.checkpoints) if r.start == r.end == at(5)]
    assert all(checkpoint is None for checkpoint in second_checkpoints[:-1])
    assert second_checkpoints[-1] == at(5)


def assert_never_past_an_unread_order(run: Run, leaving: OrdersLeave) -> None:
    """Once the checkpoint reaches the second, every order still in it has been handed out: a restart from the
    checkpoint, or the pager moving on, skips none. Orders that left are found by the next sync, after the bound."""
    for (checkpoint, handed_out), remaining in zip(run.progress, leaving.remaining_at):
        if checkpoint is not None and checkpoint >= leaving.second:
            assert remaining <= set(handed_out)


def passes_over(api: FakeOrderDesk, second: str) -> int:
    return sum(1 for request in api.requests if request.start == request.end == second and request.offset == 0)


def test_given_no_total_records_and_a_bulk_second_losing_an_order_before_every_request_when_paging_then_it_finishes() -> None:
    # Without totals, the short last page of each pass counts the second: fewer each time, so the passes make
    # progress and do not count towards giving up.
    rng = random.Random(7)
    leaving = OrdersLeave(at(5), pick=rng.choice, from_query=3)  # from the second's own first page
    api = FakeOrderDesk({**store(*([5] * 80)), "81": at(9)}, omit_total=True, before_query=leaving)

    run = drain(OrderPager(START, END, page_size=10), api, limit=10)

    assert passes_over(api, at(5)) > MAX_PASSES_OVER_ONE_SECOND  # where the sync used to give up
    assert set(api.ids_at(at(5))) <= set(run.ids) and "81" in run.ids
    assert len(run.ids) == len(set(run.ids))
    assert_never_past_an_unread_order(run, leaving)


def test_given_a_bulk_second_losing_a_random_order_before_every_request_when_paging_then_it_ends_and_no_stayer_is_lost() -> None:
    # Most passes lose an unread order, which spoils the proof; but each one shrinks the second, which must end.
    rng = random.Random(7)
    leaving = OrdersLeave(at(5), pick=rng.choice)
    api = FakeOrderDesk({**store(*([5] * 150)), "151": at(9)}, before_query=leaving)

    run = drain(OrderPager(START, END, page_size=10), api, limit=10)

    assert passes_over(api, at(5)) > MAX_PASSES_OVER_ONE_SECOND  # where the sync used to give up
    assert set(api.ids_at(at(5))) <= set(run.ids) and "151" in run.ids
    assert len(run.ids) == len(set(run.ids))
    assert_never_past_an_unread_order(run, leaving)
    assert run.checkpoints[-1] == at(9)


def test_given_each_order_of_a_bulk_second_updated_right_after_it_was_read_when_paging_then_two_passes_prove_it_complete() -> (
    None
):
    # A tool works through the import in id order, one order per request, each one after the sync returned it: the
    # total changes on every answer, but no order leaves unread, so what a pass and the next one returned is all of it.
    leaving = OrdersLeave(at(5), pick=lambda ids: ids[0])
    api = FakeOrderDesk({**store(*([5] * 60)), "61": at(9)}, before_query=leaving)

    run = drain(OrderPager(START, END, page_size=10), api, limit=10)

    assert passes_over(api, at(5)) == 2
    assert set(api.ids_at(at(5))) <= set(run.ids) and "61" in run.ids
    assert len(run.ids) == len(set(run.ids))
    assert_never_past_an_unread_order(run, leaving)


def test_given_a_past_second_whose_total_grows_faster_than_it_is_paged_when_paging_then_a_paging_error_stops_the_sync() -> None:
    def eleven_orders_join_second_5(api: FakeOrderDesk, query_index: int) -> None:
        # impossible for a past second (a new or updated order is "now"): a misbehaving API
        for n in range(11):
            api.orders[f"{1000 + 11 * query_index + n}"] = at(5)

    api = FakeOrderDesk(store(*([5] * 30)), before_query=eleven_orders_join_second_5)
    pager = OrderPager(START, END, page_size=10)

    with pytest.raises(PagingError, match="kept changing"):
        drain(pager, api, limit=10)
    # a pass ends at the fewest orders the second ever held, so the growth cannot stretch a pass for ever
    assert passes_over(api, at(5)) == MAX_PASSES_OVER_ONE_SECOND
    assert pager.checkpoint is None


def test_given_a_past_second_whose_total_swings_down_and_up_when_paging_then_only_a_new_low_counts_as_progress() -> None:
    def order_1_leaves_and_comes_back(api: FakeOrderDesk, query_index: int) -> None:
        # the second's answers count 30, 29, 30, 29, ...: an order coming back is impossible for a past second
        answered = sum(1 for request in api.requests if request.start == request.end)
        api.update("1", AFTER_THE_SYNC if answered % 2 else at(5))

    api = FakeOrderDesk(store(*([5] * 30)), before_query=order_1_leaves_and_comes_back)
    pager = OrderPager(START, END, page_size=10)

    with pytest.raises(PagingError, match="kept changing"):
        drain(pager, api, limit=10)
    # the first pass saw 29 after 30, a first low: progress; falling back to 29 afterwards is not
    assert passes_over(api, at(5)) == MAX_PASSES_OVER_ONE_SECOND + 1
    assert pager.checkpoint is None


# --- rows leaving the window mid-paging -----------------------------------------------------------


def test_given_an_unread_order_is_updated_mid_paging_when_paging_then_no_other_order_is_skipped() -> None:
    # The classic offset-paging loss: order 4 is updated after page 1, so every later row would shift
    # one place down under offset paging. Keyset paging must still return 5..9.
    def update_order_4_after_page_1(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 1:
            api.update("4")

    api = FakeOrderDesk(store(1, 2, 3, 4, 5, 6, 7, 8, 9), before_query=update_order_4_after_page_1)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.ids == ["1", "2", "3", "5", "6", "7", "8", "9"]
    # order 4 now sits after the sync's upper bound, so the saved cursor still lets the next sync find it
    assert run.checkpoints[-1] < AFTER_THE_SYNC


def test_given_a_read_order_is_updated_mid_paging_when_paging_then_no_other_order_is_skipped() -> None:
    def update_order_2_after_page_1(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 1:
            api.update("2")

    api = FakeOrderDesk(store(1, 2, 3, 4, 5, 6, 7), before_query=update_order_2_after_page_1)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    assert run.ids == ["1", "2", "3", "4", "5", "6", "7"]


# --- the API ignores order_by: window mode --------------------------------------------------------


def test_given_the_api_ignores_order_by_when_paging_then_it_falls_back_to_unsorted_date_windows() -> None:
    seconds = [(n * 37) % 600 for n in range(40)]  # 40 orders spread over 10 minutes, ids unrelated to time
    api = FakeOrderDesk(store(*seconds), honours_order_by=False)
    pager = OrderPager(at(0), at(599), page_size=10)

    run = drain(pager, api, limit=10)

    assert pager.mode == "window"
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 41)]
    window_requests = [request for request in run.requests[1:] if request.offset == 0]
    assert window_requests and all(request.sort is None for request in window_requests)
    windows = [(r.start, r.end) for r in run.requests[1:]]
    assert all(start <= end for start, end in windows)


def test_given_the_api_ignores_order_by_and_a_large_store_when_paging_then_requests_stay_within_a_tenth_of_the_pages() -> None:
    # 2,000 orders over a month, sorted by nothing useful, 50 a page: windows of several pages read by offset
    # waste only their part-filled last pages (one-page windows would take a quarter more requests).
    rng = random.Random(7)
    seconds = [rng.randrange(30 * 86_400) for _ in range(2_000)]
    api = FakeOrderDesk(store(*seconds), honours_order_by=False)

    run = drain(OrderPager(at(0), at(30 * 86_400 - 1), page_size=50), api, limit=50)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 2_001)]
    assert len(run.requests) <= 1.1 * 2_000 / 50 + 2
    assert any(r.offset > 0 and r.start != r.end for r in run.requests), "a window of several pages was read by offset"


def test_given_the_api_ignores_order_by_and_bulk_seconds_when_paging_then_each_costs_few_extra_requests() -> None:
    # A second holding far more orders than a window aims at is cut out of its window (the overflowing page shows
    # it), read on its own by offset, and the windows after it are as wide as before.
    rng = random.Random(3)
    # A window aims at 8 pages (400 orders) and is narrowed past 800.
    seconds = [rng.randrange(30 * 86_400) for _ in range(1_000)] + [400_000] * 1_500 + [1_900_000] * 900
    api = FakeOrderDesk(store(*seconds), honours_order_by=False)

    run = drain(OrderPager(at(0), at(30 * 86_400 - 1), page_size=50), api, limit=50)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 3_401)]
    assert len(run.requests) <= 1.1 * 3_400 / 50 + 2 + 2 * 2  # two narrowings per bulk second at most
    assert any(r.start == r.end == at(400_000) and r.offset > 0 for r in run.requests)


def test_given_the_api_ignores_order_by_when_the_first_page_is_discarded_then_nothing_from_it_is_handed_out() -> None:
    pager = OrderPager(START, END, page_size=2)

    fresh = pager.accept([{"id": "2", "date_updated": at(9)}, {"id": "1", "date_updated": at(1)}], 5)

    assert fresh == []
    assert pager.mode == "window"
    assert pager.next_request.sort is None
    assert pager.next_request.start == START


def test_given_window_mode_and_a_second_with_more_orders_than_a_window_when_paging_then_it_is_paged_by_offset_unsorted() -> None:
    # A window aims at 8 pages (16 orders at 2 a page) and one over 32 orders is narrowed: the 40 orders of
    # second 5 end up as a window of their own.
    api = FakeOrderDesk({**store(*[5] * 40), "41": at(1), "42": at(20)}, honours_order_by=False)

    run = drain(OrderPager(at(0), at(30), page_size=2), api, limit=2)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 43)]
    assert len(run.ids) == 42
    assert any(r.start == r.end == at(5) and r.offset > 0 and r.sort is None for r in run.requests)


def test_given_window_mode_without_total_records_and_a_full_page_when_paging_then_the_window_is_narrowed() -> None:
    api = FakeOrderDesk(store(*range(0, 30)), honours_order_by=False, omit_total=True)

    run = drain(OrderPager(at(0), at(29), page_size=4), api, limit=4)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 31)]
    assert len(run.ids) == 30


def test_given_the_api_stops_honouring_order_by_mid_sync_when_paging_then_no_order_is_handed_out_twice() -> None:
    pager = OrderPager(at(0), at(30), page_size=2)
    pager.accept([{"id": "1", "date_updated": at(1)}, {"id": "2", "date_updated": at(2)}], 5)
    verify_sort(pager, {"id": "5", "date_updated": at(5)})
    api = FakeOrderDesk({"1": at(1), "2": at(2), "3": at(3), "4": at(4), "5": at(5)}, honours_order_by=False)

    run = drain(pager, api, limit=2)

    assert "2" not in run.ids
    assert sorted(run.ids, key=int) == ["3", "4", "5"]


def test_given_the_api_ignores_order_by_and_the_first_page_happens_to_look_sorted_when_paging_then_no_order_is_lost() -> None:
    # Default order is date_added DESC: [3 (updated at 1), 2 (updated at 5)] looks ascending; order 1,
    # added first and updated at 0, would only come on the next page of that order.
    api = FakeOrderDesk({"1": at(0), "2": at(5), "3": at(1)}, honours_order_by=False)
    pager = OrderPager(at(0), at(30), page_size=2)

    run = drain(pager, api, limit=2)

    # the probe (date_updated descending) came back with order 3 first again, so the sort was ignored
    assert run.requests[:2] == [PageRequest(at(0), at(30)), sort_probe(at(1), at(30))]
    assert pager.mode == "window"
    assert set(run.ids) == {"1", "2", "3"}  # each order at least once (the first page was handed out before the probe)
    assert all(request.sort is None for request in run.requests[2:])
    assert run.checkpoints[-1] == at(30)


# --- the sort probe: is order_by honoured? --------------------------------------------------------


def test_given_a_sync_whose_first_page_is_its_last_when_paging_then_no_sort_probe_is_sent() -> None:
    for api in (FakeOrderDesk(store(1, 2, 3)), FakeOrderDesk(store(1, 2), omit_total=True)):
        run = drain(OrderPager(START, END, page_size=3), api, limit=3)

        assert run.requests == [PageRequest(START, END)]
        assert not any(request.descending for request in run.requests)


def test_given_a_full_first_page_when_accepted_then_its_orders_are_handed_out_and_the_checkpoint_waits_for_the_probe() -> None:
    pager = OrderPager(START, END, page_size=2)

    fresh = pager.accept([{"id": "1", "date_updated": at(1)}, {"id": "2", "date_updated": at(2)}], 5)

    assert [order["id"] for order in fresh] == ["1", "2"]
    assert pager.mode == "sort probe"
    assert pager.next_request == sort_probe(at(1), END)
    assert pager.checkpoint is None


def test_given_the_probe_answers_with_a_different_first_order_when_paging_then_the_sort_is_verified_and_never_probed_again() -> (
    None
):
    # many keyset pages, with a bulk second (more orders than a page) in the middle, after which keyset paging resumes
    api = FakeOrderDesk(store(*range(0, 12), *([20] * 7), *range(30, 45)))
    pager = OrderPager(START, END, page_size=4)

    run = drain(pager, api, limit=4)

    probes = [index for index, request in enumerate(run.requests) if request.descending]
    assert probes == [1]
    assert run.requests[1] == sort_probe(at(0), END)
    # applied once the probe's answer ([34], not [1]; its total the page's: nothing before [1]) verified the sort
    assert run.checkpoints[:2] == [None, at(3)]
    assert any(request.sort == "id" for request in run.requests)  # the bulk second was paged by offset
    assert all(request.sort is not None for request in run.requests)  # no window fallback
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 35)]
    assert len(run.ids) == len(set(run.ids))


def test_given_the_probe_answers_with_the_same_first_order_when_accepted_then_the_window_fallback_starts_at_the_page_start() -> (
    None
):
    pager = OrderPager(at(0), at(30), page_size=2)
    pager.accept([{"id": "3", "date_updated": at(1)}, {"id": "2", "date_updated": at(5)}], 3)

    fresh = pager.accept([{"id": "3", "date_updated": at(1)}], 3, 1)

    assert fresh == []
    assert pager.mode == "window"
    assert pager.next_request.start == at(0) and pager.next_request.sort is None and pager.next_request.offset == 0
    assert pager.checkpoint is None  # the page's checkpoint was never applied: nothing before at(5) is proven read


def test_given_the_probe_answers_with_the_same_first_order_when_paging_then_every_order_is_handed_out_at_least_once() -> None:
    # 30 orders whose default order (ids descending) happens to be ascending in date_updated on the first page only
    orders = {str(n): at((n * 7) % 30) for n in range(1, 31)}
    orders.update({"30": at(1), "29": at(2), "28": at(3)})
    api = FakeOrderDesk(orders, honours_order_by=False)
    pager = OrderPager(at(0), at(59), page_size=3)

    run = drain(pager, api, limit=3)

    assert run.requests[1] == sort_probe(at(1), at(59))
    assert pager.mode == "window"
    assert set(run.ids) == set(orders)
    assert not [r for r in run.requests[2:] if r.descending]  # one probe per sync
    # nothing was handed out twice except orders of the first page, which went out before the probe
    assert {order_id for order_id, count in Counter(run.ids).items() if count > 1} <= {"30", "29", "28"}


def test_given_the_probe_answers_with_the_same_first_order_when_paging_then_no_order_is_handed_out_twice() -> None:
    api = FakeOrderDesk({"1": at(0), "2": at(5), "3": at(1)}, honours_order_by=False)

    run = drain(OrderPager(at(0), at(30), page_size=2), api, limit=2)

    assert sorted(run.ids, key=int) == ["1", "2", "3"]


def test_given_a_window_of_one_bulk_second_with_ties_in_any_order_when_probing_the_sort_then_each_order_is_handed_out_once() -> (
    None
):
    # order_by is honoured; ties come back in a new order on every query (seed 0: the probe's first tie is the page's).
    # The probe cannot tell such a window from an ignored sort, so the pager takes the safe, slower window reading;
    # what matters is that it hands every order out exactly once.
    api = FakeOrderDesk(store(*([5] * 6)), shuffle_ties=True, ties_vary_per_query=True, seed=0)
    pager = OrderPager(START, END, page_size=3)

    run = drain(pager, api, limit=3)

    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 7)]
    assert len(run.ids) == len(set(run.ids))


def test_given_order_by_ignored_and_the_pages_first_order_updated_before_the_probe_when_paging_then_no_order_is_lost() -> None:
    def update_order_4_before_the_probe(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 1:
            api.update("4")

    # Default order is date_added DESC (ids descending): [4 (updated at 1), 3 (updated at 5)] looks ascending.
    api = FakeOrderDesk(
        {"4": at(1), "3": at(5), "2": at(0), "1": at(3)}, honours_order_by=False, before_query=update_order_4_before_the_probe
    )

    run = drain(OrderPager(at(0), at(30), page_size=2), api, limit=2)

    assert {"1", "2", "3"} <= set(run.ids)


def test_given_page_size_1_and_the_api_ignores_order_by_when_paging_then_windows_grow_again_and_paging_ends() -> None:
    api = FakeOrderDesk(store(0, 5), honours_order_by=False)

    run = drain(OrderPager(START, END, page_size=1), api, limit=1, max_requests=300)

    assert sorted(set(run.ids), key=int) == ["1", "2"]


def test_given_order_by_ignored_and_a_newest_bulk_second_fills_page_one_when_the_probe_answers_a_tie_then_no_order_is_lost() -> (
    None
):
    # Default order date_added DESC: the 6 orders imported last (all updated at second 50) come first and look
    # sorted; with ties in a new order per query, the descending probe answers with another order of second 50.
    older = store(*range(0, 10))
    imported = store(*([50] * 6), first_id=11)
    added = {order_id: at(100) for order_id in imported}
    for seed in range(5):
        api = FakeOrderDesk(
            {**older, **imported}, honours_order_by=False, added=added, shuffle_ties=True, ties_vary_per_query=True, seed=seed
        )

        run = drain(OrderPager(at(0), at(60), page_size=3), api, limit=3)

        assert run.requests[1] == sort_probe(at(50), at(60))
        # its total (6) is not the page's (16), and asked, the floor question finds older orders: the sort is ignored
        assert run.requests[2] == floor_probe(at(0), at(49))
        assert pager_mode_of(run) == "window"
        assert set(run.ids) == set(older) | set(imported)


def test_given_a_page_ending_inside_a_tied_second_when_the_probe_returns_a_tie_from_the_page_then_the_sort_is_verified() -> None:
    # An incremental sync: a few orders, then a bulk change in one second that runs past the first page. Sorted
    # descending, ties come back in any order, so the probe may answer with an order of the page's last second.
    api = FakeOrderDesk({**store(1, 2), **store(*([9] * 6), first_id=3)}, shuffle_ties=True, ties_vary_per_query=True, seed=4)
    pager = OrderPager(START, END, page_size=4)

    run = drain(pager, api, limit=4)

    assert run.requests[1] == sort_probe(at(1), END)
    assert all(request.sort is not None for request in run.requests)  # no window fallback
    assert sorted(run.ids, key=int) == [str(n) for n in range(1, 9)]
    assert len(run.ids) == len(set(run.ids))


def test_given_an_order_leaves_the_window_before_the_probe_when_probing_then_the_floor_is_asked_and_the_sort_still_verified() -> (
    None
):
    def update_order_5_before_the_probe(api: FakeOrderDesk, query_index: int) -> None:
        if query_index == 1:
            api.update("5")

    api = FakeOrderDesk(store(1, 2, 3, 4, 5, 6, 7), before_query=update_order_5_before_the_probe)

    run = drain(OrderPager(START, END, page_size=3), api, limit=3)

    # the probe's total (6) is not the page's (7), which may mean an order before [1]: so that is asked
    assert run.requests[1:3] == [sort_probe(at(1), END), floor_probe(START, at(0))]
    assert all(request.sort is not None for request in run.requests)  # no window fallback
    assert run.ids == ["1", "2", "3", "4", "6", "7"]


def pager_mode_of(run) -> str:
    """window if the run ever fell back to windows (unsorted requests from offset 0 over a range)."""
    return "window" if any(r.sort is None and r.start != r.end for r in run.requests) else "sorted"


# --- properties -----------------------------------------------------------------------------------


def updates_before_queries(updates: List[tuple]) -> Callable[[FakeOrderDesk, int], None]:
    """A `before_query` hook: for each (query index, order number), that order (if it still exists) is updated
    just before that query, and so moves past the sync's upper bound."""
    planned: Dict[int, List[str]] = {}
    for query_index, order_number in updates:
        planned.setdefault(query_index, []).append(str(order_number))

    def apply_updates(api: FakeOrderDesk, query_index: int) -> None:
        for order_id in planned.get(query_index, []):
            if order_id in api.orders:
                api.update(order_id)

    return apply_updates


def never_updated_in(api: FakeOrderDesk) -> set:
    return {order_id for order_id, updated in api.orders.items() if updated != AFTER_THE_SYNC}


def assert_restarts_from_checkpoints_are_safe(run: Run, orders: Dict[str, str], never_updated: set) -> None:
    """A sync restarted from any checkpoint skips nothing: every never-updated order before it was handed out."""
    for checkpoint, handed_out in run.progress:
        if checkpoint is not None:
            before_checkpoint = {order_id for order_id in never_updated if orders[order_id] < checkpoint}
            assert before_checkpoint <= set(handed_out)


@st.composite
def stores(draw: st.DrawFn) -> Dict[str, str]:
    seconds = draw(st.lists(st.integers(min_value=0, max_value=12), min_size=0, max_size=40))
    return store(*seconds)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=stores(), page_size=st.integers(min_value=1, max_value=7))
def test_given_any_store_with_stable_ties_when_paging_then_every_order_is_handed_out_exactly_once(
    orders: Dict[str, str], page_size: int
) -> None:
    api = FakeOrderDesk(dict(orders))

    run = drain(OrderPager(START, END, page_size=page_size), api, limit=page_size)

    assert sorted(run.ids, key=int) == sorted(orders, key=int)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=40, unique=True),
    page_size=st.integers(min_value=2, max_value=6),
    updates=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 40)), max_size=8),
)
def test_given_orders_updated_mid_sync_when_paging_distinct_seconds_then_none_is_lost_and_a_restart_from_a_checkpoint_is_safe(
    seconds: List[int], page_size: int, updates: List[tuple]
) -> None:
    orders = store(*seconds)
    apply_updates = updates_before_queries(updates)
    api = FakeOrderDesk(dict(orders), before_query=apply_updates)

    run = drain(OrderPager(START, END, page_size=page_size), api, limit=page_size)

    never_updated = never_updated_in(api)
    assert never_updated <= set(run.ids)
    assert len(run.ids) == len(set(run.ids))
    assert all(checkpoint <= END for checkpoint, _ in run.progress if checkpoint is not None)
    assert_restarts_from_checkpoints_are_safe(run, orders, never_updated)


@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=30),
    page_size=st.integers(min_value=1, max_value=5),
    updates=st.lists(st.tuples(st.integers(0, 25), st.integers(1, 30)), max_size=8),
    shuffle_ties=st.booleans(),
)
def test_given_orders_updated_mid_sync_when_paging_bulk_seconds_then_none_is_lost_or_repeated_and_checkpoints_are_safe(
    seconds: List[int], page_size: int, updates: List[tuple], shuffle_ties: bool
) -> None:
    # Few seconds, many orders: most pages are one second holding more orders than a page.
    orders = store(*seconds)
    apply_updates = updates_before_queries(updates)
    api = FakeOrderDesk(dict(orders), before_query=apply_updates, shuffle_ties=shuffle_ties)

    run = drain(OrderPager(START, END, page_size=page_size), api, limit=page_size)

    never_updated = never_updated_in(api)
    assert never_updated <= set(run.ids)
    assert len(run.ids) == len(set(run.ids))
    assert_restarts_from_checkpoints_are_safe(run, orders, never_updated)


@settings(max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=30),
    page_size=st.integers(min_value=2, max_value=6),
    updates=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), max_size=6),
    omit_total=st.booleans(),
)
def test_given_the_api_ignores_order_by_and_orders_updated_mid_sync_when_paging_then_none_is_lost_and_checkpoints_are_safe(
    seconds: List[int], page_size: int, updates: List[tuple], omit_total: bool
) -> None:
    # Whether the first page looks sorted or not, the pager ends in window mode (directly, or after the sort probe).
    orders = store(*seconds)
    apply_updates = updates_before_queries(updates)
    api = FakeOrderDesk(dict(orders), honours_order_by=False, omit_total=omit_total, before_query=apply_updates)

    run = drain(OrderPager(START, END, page_size=page_size), api, limit=page_size)

    never_updated = never_updated_in(api)
    assert never_updated <= set(run.ids)
    # Probes stop once the pager reads in windows; before that, a page of one second whose probe answers with
    # that same second (ambiguous) leads to one more probe at the next full keyset page.
    first_window = next((n for n, r in enumerate(run.requests) if r.sort is None), len(run.requests))
    assert not [r for r in run.requests[first_window:] if r.descending]
    assert_restarts_from_checkpoints_are_safe(run, orders, never_updated)


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=3_600), min_size=40, max_size=150),
    bulk=st.lists(st.integers(min_value=0, max_value=3_600), max_size=3),
    page_size=st.integers(min_value=2, max_value=4),
    updates=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 200)), max_size=12),
)
def test_given_the_api_ignores_order_by_and_windows_are_narrowed_while_orders_change_when_paging_then_none_is_lost(
    seconds: List[int], bulk: List[int], page_size: int, updates: List[tuple]
) -> None:
    # Stores several times larger than a window (8 pages), with seconds larger than one, so that windows are
    # narrowed, bulk seconds read alone and windows read by offset while orders leave them.
    orders = store(*seconds, *[second for second in bulk for _ in range(40)])
    apply_updates = updates_before_queries(updates)
    api = FakeOrderDesk(dict(orders), honours_order_by=False, before_query=apply_updates)

    run = drain(OrderPager(at(0), at(3_600), page_size=page_size), api, limit=page_size, max_requests=5_000)

    never_updated = never_updated_in(api)
    assert never_updated <= set(run.ids)
    assert len(run.ids) == len(set(run.ids))
    assert_restarts_from_checkpoints_are_safe(run, orders, never_updated)
