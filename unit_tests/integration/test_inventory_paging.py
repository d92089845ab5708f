"""How `inventory_items` pages `GET /inventory-items`: by offset, its `total_records` sent as a string."""

from __future__ import annotations

import json
from typing import Optional
from urllib.parse import parse_qs, urlparse

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from .config import DEFAULT_API_URL, ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .source_runner import catalog, read_source, records_of

PAGE_SIZE = 50


def _inventory_request(offset: int = 0) -> OrderDeskRequestBuilder:
    query = {"limit": PAGE_SIZE, **({"offset": offset} if offset else {})}
    return OrderDeskRequestBuilder(DEFAULT_API_URL, "inventory-items", query)


def _inventory_page(ids: range, total: Optional[str]) -> HttpResponse:
    body = {"status": "success", "limit": PAGE_SIZE, "inventory_items": [{"id": str(i), "name": f"Item {i}"} for i in ids]}
    if total is not None:
        body["total_records"] = total  # Order Desk sends it as a string
    return HttpResponse(json.dumps(body), 200)


def test_given_120_items_and_a_string_total_when_read_then_three_pages_are_read_twice_and_each_item_emitted_once(
    fake_time,
) -> None:  # type: ignore[no-untyped-def]
    with HttpMocker() as http_mocker:
        for offset in (0, 50, 100):
            http_mocker.get(_inventory_request(offset).build(), _inventory_page(range(offset, min(offset + 50, 120)), "120"))

        output = read_source(
            ConfigBuilder().with_page_size(PAGE_SIZE).build(), catalog("inventory_items", sync_mode=SyncMode.full_refresh)
        )

    assert [row["id"] for row in records_of(output, "inventory_items")] == [str(i) for i in range(120)]
    offsets = [parse_qs(urlparse(url).query).get("offset", ["0"])[0] for url in fake_time.urls("/inventory-items")]
    # the total ends each pass at offset 100; the second pass, finding every item again, proves nothing was skipped
    assert offsets == ["0", "50", "100", "0", "50", "100"]
    assert not output.errors


def test_given_a_total_that_is_not_a_number_when_read_then_paging_relies_on_the_echoed_limit_and_loses_no_item(fake_time) -> None:  # type: ignore[no-untyped-def]
    with HttpMocker() as http_mocker:
        for offset in (0, 50, 100):
            http_mocker.get(_inventory_request(offset).build(), _inventory_page(range(offset, min(offset + 50, 120)), ""))

        output = read_source(
            ConfigBuilder().with_page_size(PAGE_SIZE).build(), catalog("inventory_items", sync_mode=SyncMode.full_refresh)
        )

    assert sorted(int(row["id"]) for row in records_of(output, "inventory_items")) == list(range(120))
    assert not output.errors
