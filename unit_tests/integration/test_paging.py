"""How a read pages through `GET /orders`: where paging ends, keyset restarts, bulk seconds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import List
from unittest import TestCase
from urllib.parse import parse_qs, urlparse

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from .config import ConfigBuilder
from .order_desk_mocks import mock_sort_probe
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, clock_response, orders_page
from .source_runner import catalog, read_source, records_of, states_of, warnings_of

_START = "2024-01-01 00:00:00"  # ConfigBuilder's start date
_END = SERVER_NOW


def _orders(start: str = _START, end: str = _END, limit: int = 500, offset: int = 0) -> OrderDeskRequestBuilder:
    return OrderDeskRequestBuilder.orders().with_window(start, end).with_limit(limit).with_offset(offset)


def _ids(records: List[dict]) -> List[str]:
    return [record["id"] for record in records]


def _queries(urls: List[str]) -> List[tuple]:
    """Each `/orders` request as (modified_start_date, modified_end_date, order_by, order, offset, limit)."""
    shapes = []
    for url in urls:
        query = parse_qs(urlparse(url).query)
        shapes.append(
            tuple(
                query.get(name, [default])[0]
                for name, default in (
                    ("modified_start_date", None),
                    ("modified_end_date", None),
                    ("order_by", None),
                    ("order", None),
                    ("offset", "0"),
                    ("limit", None),
                )
            )
        )
    return shapes


class PagingEndTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _clock(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())

    @HttpMocker()
    def test_given_a_full_page_reaching_total_records_when_read_then_no_further_page_and_no_sort_probe_is_requested(
        self, http_mocker: HttpMocker
    ) -> None:
        self._clock(http_mocker)
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 10:00:01"))
            .with_total_records(2)
            .with_limit(2)
            .build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2"]
        assert len(self._time.urls("/orders")) == 1

    @HttpMocker()
    def test_given_an_empty_first_page_when_read_then_no_records_and_the_stream_completes(self, http_mocker: HttpMocker) -> None:
        self._clock(http_mocker)
        http_mocker.get(_orders().build(), orders_page().with_total_records(0).build())

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert output.records == []
        assert output.errors == []
        assert output.get_stream_statuses("orders")[-1].name == "COMPLETE"

    @HttpMocker()
    def test_given_a_short_page_without_total_records_when_read_then_paging_stops(self, http_mocker: HttpMocker) -> None:
        self._clock(http_mocker)
        http_mocker.get(
            _orders(limit=3).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 10:00:01"))
            .without_total_records()
            .with_limit(3)
            .build(),
        )

        output = read_source(ConfigBuilder().with_page_size(3).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2"]
        assert len(self._time.urls("/orders")) == 1

    @HttpMocker()
    def test_given_a_full_page_without_total_records_when_read_then_paging_stops_at_the_next_short_page(
        self, http_mocker: HttpMocker
    ) -> None:
        self._clock(http_mocker)
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 10:00:01"))
            .without_total_records()
            .with_limit(2)
            .build(),
        )
        # the probe: the window's newest order, beyond the page, confirms the sort
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", _END, a_bare_order("3", "2024-02-01 10:00:02"), floor_from=_START)
        http_mocker.get(
            _orders(start="2024-02-01 10:00:01", limit=2).build(),
            orders_page(a_bare_order("2", "2024-02-01 10:00:01"), a_bare_order("3", "2024-02-01 10:00:02"))
            .without_total_records()
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-01 10:00:02", limit=2).build(),
            orders_page(a_bare_order("3", "2024-02-01 10:00:02")).without_total_records().with_limit(2).build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2", "3"]
        assert _queries(self._time.urls("/orders")) == [
            (_START, _END, "date_updated", "asc", "0", "2"),
            # the sort probe after the first full page, from its first second; no total, so also: none before it?
            ("2024-02-01 10:00:00", _END, "date_updated", "desc", "0", "1"),
            (_START, "2024-02-01 09:59:59", "date_updated", "asc", "0", "1"),
            ("2024-02-01 10:00:01", _END, "date_updated", "asc", "0", "2"),  # full again: no total says it is the last
            ("2024-02-01 10:00:02", _END, "date_updated", "asc", "0", "2"),  # short: the last page
        ]

    @HttpMocker()
    def test_given_orders_answered_outside_the_requested_window_when_read_then_a_warning_names_the_time_zone_and_the_fix(
        self, http_mocker: HttpMocker
    ) -> None:
        # As if Order Desk read the dates in the store's time zone (UTC-6): six hours past the window's end.
        self._clock(http_mocker)
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-03-06 17:59:00")).with_total_records(1).build())

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1"]
        (warning,) = [message for message in warnings_of(output) if "time zone" in message]
        assert "2024-03-06 17:59:00" in warning and "Lookback Window to 1440" in warning

    @HttpMocker()
    def test_given_orders_inside_the_window_when_read_then_no_time_zone_warning(self, http_mocker: HttpMocker) -> None:
        self._clock(http_mocker)
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", _END)).with_total_records(1).build())

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1"]
        assert not [log for log in output.logs if "time zone" in log.log.message]


class KeysetPagingTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_three_pages_when_read_then_each_page_starts_at_the_previous_pages_last_second_with_offset_0(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 11:00:00"))
            .with_total_records(5)
            .with_limit(2)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", _END, a_bare_order("5", "2024-02-04 08:00:00"), total_records=5)
        http_mocker.get(
            _orders(start="2024-02-01 11:00:00", limit=2).build(),
            orders_page(a_bare_order("2", "2024-02-01 11:00:00"), a_bare_order("3", "2024-02-02 09:30:00"))
            .with_total_records(4)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-02 09:30:00", limit=2).build(),
            orders_page(
                a_bare_order("3", "2024-02-02 09:30:00"),
                a_bare_order("4", "2024-02-03 08:00:00"),
            )
            .with_total_records(3)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-03 08:00:00", limit=2).build(),
            orders_page(a_bare_order("4", "2024-02-03 08:00:00"), a_bare_order("5", "2024-02-04 08:00:00"))
            .with_total_records(2)
            .with_limit(2)
            .build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2", "3", "4", "5"]
        assert all("offset=" not in url for url in self._time.urls("/orders"))
        assert _queries(self._time.urls("/orders")) == [
            (_START, _END, "date_updated", "asc", "0", "2"),
            # the sort probe: [5], not [1], and its total is the page's (nothing before [1]), so the sort is honoured
            ("2024-02-01 10:00:00", _END, "date_updated", "desc", "0", "1"),
            ("2024-02-01 11:00:00", _END, "date_updated", "asc", "0", "2"),
            ("2024-02-02 09:30:00", _END, "date_updated", "asc", "0", "2"),
            ("2024-02-03 08:00:00", _END, "date_updated", "asc", "0", "2"),
        ]

    @HttpMocker()
    def test_given_a_page_boundary_inside_a_second_when_read_then_the_boundary_orders_are_emitted_once(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=3).build(),
            orders_page(
                a_bare_order("10", "2024-02-01 10:00:00"),
                a_bare_order("11", "2024-02-01 10:00:07"),
                a_bare_order("12", "2024-02-01 10:00:07"),
            )
            .with_total_records(5)
            .with_limit(3)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", _END, a_bare_order("14", "2024-02-01 10:00:10"), total_records=5)
        http_mocker.get(
            _orders(start="2024-02-01 10:00:07", limit=3).build(),
            orders_page(
                a_bare_order("11", "2024-02-01 10:00:07"),
                a_bare_order("12", "2024-02-01 10:00:07"),
                a_bare_order("13", "2024-02-01 10:00:09"),
            )
            .with_total_records(4)
            .with_limit(3)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-01 10:00:09", limit=3).build(),
            orders_page(a_bare_order("13", "2024-02-01 10:00:09"), a_bare_order("14", "2024-02-01 10:00:10"))
            .with_total_records(2)
            .with_limit(3)
            .build(),
        )

        output = read_source(ConfigBuilder().with_page_size(3).build(), catalog("orders"))

        ids = _ids(records_of(output, "orders"))
        assert sorted(ids) == ["10", "11", "12", "13", "14"]
        assert Counter(ids).most_common(1)[0][1] == 1

    @HttpMocker()
    def test_given_a_second_holding_more_orders_than_a_page_when_read_then_it_is_paged_by_offset_and_each_id_emitted_once(
        self, http_mocker: HttpMocker
    ) -> None:
        bulk = "2024-02-10 03:00:00"  # a bulk import: five orders in one second, page size 2
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", bulk), a_bare_order("2", bulk)).with_total_records(6).with_limit(2).build(),
        )
        mock_sort_probe(http_mocker, bulk, _END, a_bare_order("6", "2024-02-11 00:00:00"), total_records=6)
        # that second alone, from its own offset 0, sorted by id (no ties under the offset)
        http_mocker.get(
            _orders(start=bulk, end=bulk, limit=2).sorted_by("id").build(),
            orders_page(a_bare_order("1", bulk), a_bare_order("2", bulk)).with_total_records(5).with_limit(2).build(),
        )
        http_mocker.get(
            _orders(start=bulk, end=bulk, limit=2, offset=2).sorted_by("id").build(),
            orders_page(a_bare_order("3", bulk), a_bare_order("4", bulk))
            .with_total_records(5)
            .with_offset(2)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start=bulk, end=bulk, limit=2, offset=4).sorted_by("id").build(),
            orders_page(a_bare_order("5", bulk)).with_total_records(5).with_offset(4).with_limit(2).build(),
        )
        http_mocker.get(
            _orders(start="2024-02-10 03:00:01", limit=2).build(),
            orders_page(a_bare_order("6", "2024-02-11 00:00:00")).with_total_records(1).with_limit(2).build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2", "3", "4", "5", "6"]
        assert _queries(self._time.urls("/orders")) == [
            (_START, _END, "date_updated", "asc", "0", "2"),
            (bulk, _END, "date_updated", "desc", "0", "1"),  # the sort probe: [6], not [1]
            (bulk, bulk, "id", "asc", "0", "2"),
            (bulk, bulk, "id", "asc", "2", "2"),
            (bulk, bulk, "id", "asc", "4", "2"),
            ("2024-02-10 03:00:01", _END, "date_updated", "asc", "0", "2"),  # then paging goes on after that second
        ]
        assert self._time.waits == [], "a past second is over: it is read without waiting"

    @HttpMocker()
    def test_given_the_clocks_current_second_holds_more_orders_than_a_page_when_read_then_it_is_paged_by_offset_once_it_is_over(
        self, http_mocker: HttpMocker
    ) -> None:
        # Orders updated while the sync runs still join the clock's current second (the window's end): paged
        # by offset while it is open, that second could keep growing and never settle.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", _END), a_bare_order("2", _END)).with_total_records(3).with_limit(2).build(),
        )
        mock_sort_probe(http_mocker, _END, _END, a_bare_order("3", _END), total_records=3)
        http_mocker.get(
            _orders(start=_END, end=_END, limit=2).sorted_by("id").build(),
            orders_page(a_bare_order("1", _END), a_bare_order("2", _END)).with_total_records(3).with_limit(2).build(),
        )
        http_mocker.get(
            _orders(start=_END, end=_END, limit=2, offset=2).sorted_by("id").build(),
            orders_page(a_bare_order("3", _END)).with_total_records(3).with_offset(2).with_limit(2).build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2", "3"]
        queries = _queries(self._time.urls("/orders"))
        assert queries[1:] == [
            (_END, _END, "date_updated", "desc", "0", "1"),
            (_END, _END, "id", "asc", "0", "2"),
            (_END, _END, "id", "asc", "2", "2"),
        ]
        exchanges = self._time.urls()
        first_of_that_second = exchanges.index(self._time.urls("/orders")[1])
        (wait,) = self._time.waits_before(first_of_that_second)
        assert 0 < wait <= 1.0, "the connector waits out the rest of the second the clock was read in, once"
        assert all(not self._time.waits_before(i) for i in range(first_of_that_second + 1, len(exchanges)))

    @HttpMocker()
    def test_given_an_order_leaves_a_bulk_second_between_its_pages_when_read_then_no_order_is_lost(
        self, http_mocker: HttpMocker
    ) -> None:
        bulk = "2024-02-10 03:00:00"
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", bulk), a_bare_order("2", bulk)).with_total_records(6).with_limit(2).build(),
        )
        mock_sort_probe(http_mocker, bulk, _END, a_bare_order("6", "2024-02-11 00:00:00"), total_records=5, floor_from=_START)
        # order 1 was updated just after page 1: second `bulk` now holds 2, 3, 4, 5. Continuing the window's
        # page at offset 2 would skip order 3; the second is read from its own offset 0 instead.
        http_mocker.get(
            _orders(start=bulk, end=bulk, limit=2).sorted_by("id").build(),
            orders_page(a_bare_order("2", bulk), a_bare_order("3", bulk)).with_total_records(4).with_limit(2).build(),
        )
        http_mocker.get(
            _orders(start=bulk, end=bulk, limit=2, offset=2).sorted_by("id").build(),
            orders_page(a_bare_order("4", bulk), a_bare_order("5", bulk))
            .with_total_records(4)
            .with_offset(2)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-10 03:00:01", limit=2).build(),
            orders_page(a_bare_order("6", "2024-02-11 00:00:00")).with_total_records(1).with_limit(2).build(),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1", "2", "3", "4", "5", "6"]

    @HttpMocker()
    def test_given_many_pages_when_read_then_every_id_is_emitted_exactly_once(self, http_mocker: HttpMocker) -> None:
        # 40 orders, two per second, page size 5: every page restarts at its last second and re-reads it.
        times = [f"2024-02-01 10:00:{n // 2:02d}" for n in range(40)]
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        mock_sort_probe(http_mocker, times[0], _END, a_bare_order("39", times[39]), total_records=40)
        start, index, remaining = _START, 0, 40
        while True:
            page = list(range(index, min(index + 5, 40)))
            http_mocker.get(
                _orders(start=start, limit=5).build(),
                orders_page(*(a_bare_order(str(n), times[n]) for n in page)).with_total_records(remaining).with_limit(5).build(),
            )
            if index + 5 >= 40:
                break
            last = times[page[-1]]
            index = min(n for n in range(40) if times[n] == last)
            remaining = 40 - index
            start = last

        output = read_source(ConfigBuilder().with_page_size(5).build(), catalog("orders"))

        ids = _ids(records_of(output, "orders"))
        assert sorted(ids, key=int) == [str(n) for n in range(40)]
        assert len(ids) == len(set(ids))
        assert [query[3] for query in _queries(self._time.urls("/orders"))].count("desc") == 1  # one sort probe per sync


class SortProbeTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_the_probe_answers_with_the_first_pages_first_order_when_read_then_it_warns_and_reads_in_windows_losing_none(
        self, http_mocker: HttpMocker
    ) -> None:
        # Order Desk ignores order_by and answers in its default order (date_added DESC): the first page happens
        # to look ascending, but the probe (descending) starts with the same order 3, so the sort was ignored.
        start, end = "2024-03-06 11:59:00", SERVER_NOW
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start=start, limit=2).build(),
            orders_page(a_bare_order("3", "2024-03-06 11:59:10"), a_bare_order("2", "2024-03-06 11:59:50"))
            .with_total_records(3)
            .with_limit(2)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-03-06 11:59:10", end, a_bare_order("3", "2024-03-06 11:59:10"), total_records=3)
        # A window aims at 8 pages (16 orders), so the range's 3 orders make one window, read by offset.
        http_mocker.get(
            _orders(start=start, end=end, limit=2).unsorted().build(),
            orders_page(a_bare_order("3", "2024-03-06 11:59:10"), a_bare_order("2", "2024-03-06 11:59:50"))
            .with_total_records(3)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start=start, end=end, limit=2, offset=2).unsorted().build(),
            orders_page(a_bare_order("1", "2024-03-06 11:59:05")).with_total_records(3).with_limit(2).build(),
        )

        output = read_source(ConfigBuilder().with_start_date("2024-03-06T11:59:00Z").with_page_size(2).build(), catalog("orders"))

        assert output.errors == []
        assert output.is_in_logs("Could not confirm that Order Desk sorts orders by date_updated")
        ids = _ids(records_of(output, "orders"))
        assert set(ids) == {"1", "2", "3"}  # each at least once: the first page went out before the probe's answer
        assert [query[3] for query in _queries(self._time.urls("/orders"))] == ["asc", "desc", None, None]
        assert states_of(output, "orders")[-1] == {"date_updated": "2024-03-06T12:00:00Z"}
        assert {"date_updated": "2024-03-06T11:59:50Z"} not in states_of(output, "orders")  # the first page never checkpointed


class RequestShapeTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_folder_ids_when_read_then_folder_id_is_sent_comma_separated(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders().with_folder_ids([31201, 31203]).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build(),
        )

        output = read_source(ConfigBuilder().with_folder_ids([31201, 31203]).build(), catalog("orders"))

        assert _ids(records_of(output, "orders")) == ["1"]

    @HttpMocker()
    def test_given_a_start_date_with_time_when_read_then_the_window_starts_at_it_and_ends_at_order_desks_clock(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response("2024-05-05 05:05:05"))
        http_mocker.get(
            _orders(start="2024-04-01 06:30:00", end="2024-05-05 05:05:05").build(),
            orders_page().build(),
        )

        output = read_source(ConfigBuilder().with_start_date("2024-04-01T06:30:00Z").build(), catalog("orders"))

        assert output.errors == []

    @HttpMocker()
    def test_given_order_desk_does_not_report_its_clock_when_read_then_the_window_ends_at_the_local_utc_time(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(
            OrderDeskRequestBuilder.test_endpoint().build(),
            HttpResponse(json.dumps({"status": "success", "message": "Connection Successful"}), 200),
        )
        http_mocker.get(OrderDeskRequestBuilder.orders().with_any_query_params().build(), orders_page().build())
        before = datetime.now(timezone.utc).replace(microsecond=0)

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        after = datetime.now(timezone.utc)
        (url,) = self._time.urls("/orders")
        end = datetime.strptime(parse_qs(urlparse(url).query)["modified_end_date"][0], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=timezone.utc
        )
        assert before <= end <= after
        assert output.is_in_logs("did not report its clock")

    @HttpMocker()
    def test_given_every_request_when_read_then_it_carries_both_auth_headers_and_a_user_agent(
        self, http_mocker: HttpMocker
    ) -> None:
        from source_orderdesk import __version__

        user_agent_prefix = f"airbyte-source-orderdesk/{__version__}"
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build())
        seen_agents: List[str] = []

        import requests

        original_send = requests.Session.send

        def spy(session, request, **kwargs):  # type: ignore[no-untyped-def]
            seen_agents.append(request.headers.get("User-Agent", ""))
            return original_send(session, request, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(requests.Session, "send", spy)
            read_source(ConfigBuilder().build(), catalog("orders"))

        assert len(seen_agents) == 2  # the auth headers are required by both matchers above
        assert all(agent.split(" ")[0] == user_agent_prefix for agent in seen_agents), seen_agents

    @HttpMocker()
    def test_given_a_full_refresh_when_read_then_the_window_starts_at_the_start_date(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build())

        output = read_source(ConfigBuilder().build(), catalog("orders", sync_mode=SyncMode.full_refresh))

        assert _ids(records_of(output, "orders")) == ["1"]
