"""One request budget paces the whole read so that Order Desk's bucket (20, +3/s) never runs dry."""

from __future__ import annotations

from typing import List
from unittest import TestCase

import pytest
from airbyte_cdk.test.mock_http import HttpMocker

from source_orderdesk.rate_limit import BURST, REFILL_PER_SECOND, SAFE_BURST, SAFE_REFILL_PER_SECOND

from .config import ConfigBuilder
from .order_desk_mocks import mock_sort_probe
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, clock_response, orders_page
from .source_runner import ORDER_STREAMS, catalog, read_source, records_of

_START = "2024-01-01 00:00:00"


def _order_desk_would_refuse(request_times: List[float]) -> List[int]:
    """Indexes of the requests Order Desk's own leaky bucket (20, +3/s, starting full) would answer with 429."""
    refused, tokens, last = [], float(BURST), request_times[0]
    for index, at in enumerate(request_times):
        tokens = min(BURST, tokens + (at - last) * REFILL_PER_SECOND)
        last = at
        if tokens < 1:
            refused.append(index)
        else:
            tokens -= 1
    return refused


class PacingTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _mock_pages(self, http_mocker: HttpMocker, pages: int) -> None:
        """`pages` pages of two orders; each page restarts at the previous page's last second and adds one order.
        The sort probe after the first page is answered with the latest order."""
        times = [f"2024-02-01 10:{n // 60:02d}:{n % 60:02d}" for n in range(pages + 1)]
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        mock_sort_probe(http_mocker, times[0], SERVER_NOW, a_bare_order(str(pages), times[pages]), total_records=pages + 1)
        for page in range(pages):
            start = _START if page == 0 else times[page]
            first = page
            records = [a_bare_order(str(n), times[n]) for n in range(first, first + 2)]
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window(start, SERVER_NOW).with_limit(2).build(),
                orders_page(*records).with_total_records(pages + 1 - first).with_limit(2).build(),
            )

    @HttpMocker()
    def test_given_a_read_of_thirty_pages_when_read_then_order_desks_bucket_never_refuses_a_request(
        self, http_mocker: HttpMocker
    ) -> None:
        self._mock_pages(http_mocker, pages=30)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*ORDER_STREAMS))

        assert len(records_of(output, "orders")) == 31
        times = [exchange.at for exchange in self._time.exchanges]
        assert len(times) == 32  # the clock, 30 pages and the sort probe
        assert _order_desk_would_refuse(times) == []

    @HttpMocker()
    def test_given_a_read_of_thirty_pages_when_read_then_the_burst_goes_out_at_once_and_the_rest_at_the_refill_rate(
        self, http_mocker: HttpMocker
    ) -> None:
        self._mock_pages(http_mocker, pages=30)

        read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        requests_after_burst = len(self._time.exchanges) - SAFE_BURST
        assert self._time.waits_before(SAFE_BURST - 1) == []
        assert sum(self._time.waits) == pytest.approx(requests_after_burst / SAFE_REFILL_PER_SECOND, abs=0.01)
        assert all(0.3 < wait < 0.4 for wait in self._time.waits)

    @HttpMocker()
    def test_given_order_desk_reports_few_tokens_left_when_read_then_the_budget_follows_it(self, http_mocker: HttpMocker) -> None:
        # The clock answer says only 1 token is left (other apps share the store's bucket): the first page
        # may go out at once, the next request (the sort probe) must wait for the bucket to refill.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response(headers={"X-Tokens-Remaining": "1"}))
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window(_START, SERVER_NOW).with_limit(2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 10:00:01"))
            .with_total_records(3)
            .with_limit(2)
            .with_tokens_remaining(0)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", SERVER_NOW, a_bare_order("3", "2024-02-01 10:00:02"), total_records=3)
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window("2024-02-01 10:00:01", SERVER_NOW).with_limit(2).build(),
            orders_page(a_bare_order("2", "2024-02-01 10:00:01"), a_bare_order("3", "2024-02-01 10:00:02"))
            .with_total_records(2)
            .with_limit(2)
            .build(),
        )

        read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert self._time.waits_before(1) == []
        assert "order=desc" in self._time.exchanges[2].url  # the second /orders request is the sort probe
        assert sum(self._time.waits_before(2)) > 0
