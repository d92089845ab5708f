"""Mocks of whole exchanges that many tests need, so that each test states only what it is about."""

from __future__ import annotations

from typing import Optional

from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.mock_http.response_builder import RecordBuilder

from .request_builder import OrderDeskRequestBuilder
from .response_builder import orders_page


def mock_sort_probe(
    http_mocker: HttpMocker, start: str, end: str, first: RecordBuilder, total_records: Optional[int] = None
) -> None:
    """Order Desk's answer to the sort probe for the window [start, end]: `first` is the one order it returns.

    When Order Desk honours `order_by`, that is the window's latest order, not the first order of the
    connector's first page, and the connector goes on with keyset paging. An answer with the same first
    order as that page means the sort was ignored, and the connector falls back to windows.
    """
    page = orders_page(first).with_limit(1)
    if total_records is not None:
        page.with_total_records(total_records)
    http_mocker.get(OrderDeskRequestBuilder.sort_probe(start, end).build(), page.build())
