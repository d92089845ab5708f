"""All order tables are cut from one pass over `GET /orders`: no page is requested twice, no order alone."""

from __future__ import annotations

from typing import Dict, List
from unittest import TestCase

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.mock_http.response_builder import FieldPath

from .config import ConfigBuilder
from .order_desk_mocks import mock_sort_probe
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, an_order, clock_response, orders_page
from .source_runner import CHILD_STREAMS, ORDER_STREAMS, catalog, read_source, records_of

_START = "2024-01-01 00:00:00"


def _mock_two_pages(http_mocker: HttpMocker) -> None:
    http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
    http_mocker.get(
        OrderDeskRequestBuilder.orders().with_window(_START, SERVER_NOW).with_limit(2).build(),
        orders_page(an_order("101", "2024-02-01 10:00:00"), an_order("102", "2024-02-02 10:00:00"))
        .with_total_records(3)
        .with_limit(2)
        .build(),
    )
    mock_sort_probe(http_mocker, "2024-02-01 10:00:00", SERVER_NOW, a_bare_order("103", "2024-02-03 10:00:00"), total_records=3)
    http_mocker.get(
        OrderDeskRequestBuilder.orders().with_window("2024-02-02 10:00:00", SERVER_NOW).with_limit(2).build(),
        orders_page(an_order("102", "2024-02-02 10:00:00"), an_order("103", "2024-02-03 10:00:00"))
        .with_total_records(2)
        .with_limit(2)
        .build(),
    )


class OnePassTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _urls_for(self, *streams: str) -> List[str]:
        self._time.exchanges.clear()
        with HttpMocker() as http_mocker:
            _mock_two_pages(http_mocker)
            output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*streams))
        assert output.errors == []
        return [exchange.url for exchange in self._time.exchanges]

    def test_given_a_catalog_that_lists_a_stream_twice_when_read_then_its_records_and_states_come_once(self) -> None:
        repeated = catalog("orders", "order_items")
        repeated.streams.append(repeated.streams[0])
        with HttpMocker() as http_mocker:
            _mock_two_pages(http_mocker)
            output = read_source(ConfigBuilder().with_page_size(2).build(), repeated)

        assert sorted(record["id"] for record in records_of(output, "orders")) == ["101", "102", "103"]
        assert [status.name for status in output.get_stream_statuses("orders")] == ["STARTED", "RUNNING", "COMPLETE"]
        assert output.is_in_logs("The catalog lists orders more than once")

    def test_given_all_eight_order_tables_selected_when_read_then_the_requests_are_exactly_those_of_orders_alone(self) -> None:
        orders_alone = self._urls_for("orders")
        all_tables = self._urls_for(*ORDER_STREAMS)

        assert len(ORDER_STREAMS) == 8
        assert all_tables == orders_alone
        assert len(orders_alone) == 4  # the clock, the first page, the sort probe, the second page
        assert "order=desc" in orders_alone[2] and "limit=1" in orders_alone[2]

    def test_given_only_child_tables_selected_when_read_then_orders_are_still_paged_once_and_no_orders_rows_are_emitted(
        self,
    ) -> None:
        self._time.exchanges.clear()
        with HttpMocker() as http_mocker:
            _mock_two_pages(http_mocker)
            output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("order_items", "order_shipments"))

        assert len(self._time.urls("/orders")) == 3  # two pages and the sort probe between them
        assert records_of(output, "orders") == []
        assert {record["order_id"] for record in records_of(output, "order_items")} == {"101", "102", "103"}

    @HttpMocker()
    def test_given_orders_with_children_when_read_then_no_request_is_made_per_order(self, http_mocker: HttpMocker) -> None:
        _mock_two_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*ORDER_STREAMS))

        assert len(records_of(output, "order_items")) == 6  # 2 items in each of the 3 orders
        paths = {url.split("?")[0].rsplit("/api/v2/", 1)[1] for url in self._time.urls()}
        assert paths == {"test", "orders"}

    @HttpMocker()
    def test_given_every_table_selected_when_read_then_each_table_gets_rows_from_the_same_order_payload(
        self, http_mocker: HttpMocker
    ) -> None:
        _mock_two_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*ORDER_STREAMS))

        per_order: Dict[str, int] = {
            "orders": 1,
            "order_checkout_data": 2,
            "order_metadata": 2,
            "order_discount_list": 1,
            "order_notes": 1,
            "order_items": 2,
            "order_items_variation_list": 2,
            "order_shipments": 1,
        }
        for stream, rows in per_order.items():
            assert len(records_of(output, stream)) == 3 * rows, stream
        for stream in CHILD_STREAMS:
            for record in records_of(output, stream):
                assert record["order_id"] in {"101", "102", "103"}
                assert record["order_date_updated"] in {"2024-02-01T10:00:00Z", "2024-02-02T10:00:00Z", "2024-02-03T10:00:00Z"}

    @HttpMocker()
    def test_given_every_table_selected_when_read_then_each_stream_reports_started_running_and_complete(
        self, http_mocker: HttpMocker
    ) -> None:
        _mock_two_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*ORDER_STREAMS))

        for stream in ORDER_STREAMS:
            assert [status.name for status in output.get_stream_statuses(stream)] == ["STARTED", "RUNNING", "COMPLETE"], stream

    @HttpMocker()
    def test_given_orders_without_any_child_collection_when_read_then_child_tables_complete_empty(
        self, http_mocker: HttpMocker
    ) -> None:
        empty = an_order("7", "2024-02-01 10:00:00")
        for key in ("checkout_data", "order_metadata", "discount_list", "order_notes", "order_items", "order_shipments"):
            empty.with_field(FieldPath(key), [])
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.orders().with_window(_START, SERVER_NOW).build(), orders_page(empty).build())

        output = read_source(ConfigBuilder().build(), catalog(*ORDER_STREAMS, sync_mode=SyncMode.full_refresh))

        assert len(records_of(output, "orders")) == 1
        for stream in CHILD_STREAMS:
            assert records_of(output, stream) == []
            assert output.get_stream_statuses(stream)[-1].name == "COMPLETE"

    @HttpMocker()
    def test_given_an_order_when_read_then_its_collections_are_left_out_of_the_orders_row(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window(_START, SERVER_NOW).build(),
            orders_page(an_order("7", "2024-02-01 10:00:00").with_field(FieldPath("order_history"), [{"note": "x"}])).build(),
        )

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        (row,) = records_of(output, "orders")
        for collection in ("checkout_data", "order_metadata", "discount_list", "order_notes", "order_items", "order_shipments"):
            assert collection not in row
        assert "order_history" not in row
        assert row["shipping"]["city"] == "Madison"
