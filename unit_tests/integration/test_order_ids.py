"""`order_ids` lists every order that exists, once, even when orders change while the sync pages."""

from __future__ import annotations

from typing import List

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.mock_http import HttpMocker

from .config import ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, clock_response, orders_page
from .source_runner import read_source, records_of

_START = "2024-01-01 00:00:00"  # ConfigBuilder's start date
_LATER = "2024-03-06 12:00:07"  # Order Desk's clock once the pass is over


def _orders_and_order_ids():  # type: ignore[no-untyped-def]
    return CatalogBuilder().with_stream("orders", SyncMode.incremental).with_stream("order_ids", SyncMode.full_refresh).build()


def _orders(start: str, end: str) -> OrderDeskRequestBuilder:
    return OrderDeskRequestBuilder.orders().with_window(start, end).with_limit(500)


def _ids(records: List[dict]) -> List[str]:
    return [record["id"] for record in records]


def test_given_orders_updated_during_the_sync_when_order_ids_is_read_then_it_lists_each_existing_order_once(fake_time) -> None:  # type: ignore[no-untyped-def]
    # The pass reads [start, 12:00:00]. Meanwhile order 2 (already read) and order 3 (not yet reached) were
    # updated, and order 3 thereby left the pass's window. Order 4 was updated in the pass's last second.
    first_page = orders_page(
        a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-02 10:00:00"), a_bare_order("4", SERVER_NOW)
    )
    changed = orders_page(a_bare_order("2", "2024-03-06 12:00:03"), a_bare_order("3", "2024-03-06 12:00:05"))
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), [clock_response(SERVER_NOW), clock_response(_LATER)])
        http_mocker.get(_orders(_START, SERVER_NOW).build(), first_page.with_total_records(3).build())
        http_mocker.get(_orders("2024-03-06 12:00:01", _LATER).build(), changed.with_total_records(2).build())

        output = read_source(ConfigBuilder().build(), _orders_and_order_ids())

    assert sorted(_ids(records_of(output, "order_ids"))) == ["1", "2", "3", "4"]
    # the order tables keep the pass's upper bound: order 3 reaches them next sync
    assert _ids(records_of(output, "orders")) == ["1", "2", "4"]
    assert len(fake_time.urls("/orders")) == 2 and len(fake_time.urls("/test")) == 2


def test_given_order_ids_is_not_selected_when_orders_are_read_then_no_request_follows_the_pass(fake_time) -> None:  # type: ignore[no-untyped-def]
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), [clock_response(SERVER_NOW), clock_response(_LATER)])
        http_mocker.get(
            _orders(_START, SERVER_NOW).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00")).with_total_records(1).build(),
        )

        output = read_source(ConfigBuilder().build(), CatalogBuilder().with_stream("orders", SyncMode.incremental).build())

    assert _ids(records_of(output, "orders")) == ["1"]
    assert len(fake_time.urls("/orders")) == 1 and len(fake_time.urls("/test")) == 1
