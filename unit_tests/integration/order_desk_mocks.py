"""Mocks of whole exchanges that many tests need, so that each test states only what it is about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.mock_http.response_builder import RecordBuilder

from .request_builder import OrderDeskRequestBuilder
from .response_builder import orders_page


def mock_sort_probe(
    http_mocker: HttpMocker,
    page_first: str,
    end: str,
    first: RecordBuilder,
    total_records: Optional[int] = None,
    floor_from: Optional[str] = None,
) -> None:
    """Order Desk's answers to the sort probe after a first full page whose first order was updated at
    `page_first`: sorted descending over [page_first, end], `first` is the one order it returns.

    When Order Desk honours `order_by`, that is the window's latest order, not the first order of the
    connector's first page, and the connector goes on with keyset paging. An answer with the same first
    order as that page means the sort was ignored, and the connector falls back to windows.
    When the answer's total differs from the first page's (or is missing), the connector also asks for one
    order in [floor_from, page_first - 1 s]: give `floor_from` to answer that with none.
    """
    page = orders_page(first).with_limit(1)
    if total_records is not None:
        page.with_total_records(total_records)
    http_mocker.get(OrderDeskRequestBuilder.sort_probe(page_first, end).build(), page.build())
    if floor_from is not None:
        before = (datetime.strptime(page_first, "%Y-%m-%d %H:%M:%S") - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window(floor_from, before).with_limit(1).build(),
            orders_page().with_total_records(0).with_limit(1).build(),
        )
