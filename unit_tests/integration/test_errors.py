"""HTTP failures: credentials are config errors, 429 waits what Order Desk says, the rest is retried."""

from __future__ import annotations

import json
from http import HTTPStatus
from unittest import TestCase

import pytest
import requests
from airbyte_cdk.models import FailureType, Status
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from source_orderdesk.api import MAX_RETRIES

from .config import DEFAULT_API_URL, ConfigBuilder
from .order_desk_mocks import mock_sort_probe
from .request_builder import OrderDeskRequestBuilder
from .response_builder import (
    SERVER_NOW,
    a_bare_order,
    clock_response,
    error_response,
    orders_page,
    rate_limited_response,
    status_error_response,
)
from .source_runner import catalog, check_source, connection_status, read_source, records_of, states_of

_START = "2024-01-01 00:00:00"


def _orders() -> OrderDeskRequestBuilder:
    return OrderDeskRequestBuilder.orders().with_window(_START, SERVER_NOW)


def _page() -> HttpResponse:
    return orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build()


class CheckErrorsTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_valid_credentials_when_check_then_succeeded(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())

        output = check_source(ConfigBuilder().build())

        assert connection_status(output).status == Status.SUCCEEDED

    @HttpMocker()
    def test_given_401_when_check_then_failed_with_a_credentials_message(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.UNAUTHORIZED))

        output = check_source(ConfigBuilder().build())

        status = connection_status(output)
        assert status.status == Status.FAILED
        assert "Store ID or API key" in status.message
        assert len(self._time.exchanges) == 1  # a credentials error is not retried

    @HttpMocker()
    def test_given_403_when_check_then_failed_with_a_credentials_message(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.FORBIDDEN))

        output = check_source(ConfigBuilder().build())

        status = connection_status(output)
        assert status.status == Status.FAILED
        assert "Store ID or API key" in status.message

    @HttpMocker()
    def test_given_404_when_check_then_failed_pointing_at_the_api_url(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.NOT_FOUND))

        output = check_source(ConfigBuilder().build())

        status = connection_status(output)
        assert status.status == Status.FAILED
        assert "API URL" in status.message

    @HttpMocker()
    def test_given_order_desk_keeps_failing_when_check_then_failed_quickly_after_one_retry(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), [error_response(HTTPStatus.BAD_GATEWAY)] * 2)

        output = check_source(ConfigBuilder().build())

        status = connection_status(output)
        assert status.status == Status.FAILED
        assert status.message.startswith(f"Order Desk's connection test at {DEFAULT_API_URL} failed: ")
        assert "502" in status.message
        assert len(self._time.exchanges) == 2

    @HttpMocker()
    def test_given_200_with_status_error_when_check_then_failed_with_order_desks_message(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), [status_error_response()] * 2)

        output = check_source(ConfigBuilder().build())

        status = connection_status(output)
        assert status.status == Status.FAILED
        assert "Database temporarily unavailable" in status.message


class ReadErrorsTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_401_when_read_then_a_config_error_trace_and_no_records(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.UNAUTHORIZED))

        output = read_source(ConfigBuilder().build(), catalog("orders", "order_items"), expecting_exception=True)

        assert output.records == []
        assert output.errors and output.errors[0].trace.error.failure_type == FailureType.config_error
        assert "Store ID or API key" in output.errors[0].trace.error.message
        assert output.get_stream_statuses("orders")[-1].name == "INCOMPLETE"
        assert output.get_stream_statuses("order_items")[-1].name == "INCOMPLETE"

    @HttpMocker()
    def test_given_401_when_read_with_other_streams_then_they_are_not_requested_and_end_incomplete(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.UNAUTHORIZED))

        output = read_source(ConfigBuilder().build(), catalog("orders", "folders", "store"), expecting_exception=True)

        assert {error.trace.error.failure_type for error in output.errors} == {FailureType.config_error}
        assert self._time.urls("/store") == []
        assert output.get_stream_statuses("folders")[-1].name == "INCOMPLETE"
        assert output.get_stream_statuses("store")[-1].name == "INCOMPLETE"

    @HttpMocker()
    def test_given_403_on_orders_when_read_then_a_config_error_trace(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), error_response(HTTPStatus.FORBIDDEN))

        output = read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True)

        assert {error.trace.error.failure_type for error in output.errors} == {FailureType.config_error}
        assert len(self._time.urls("/orders")) == 1

    @HttpMocker()
    def test_given_429_with_x_retry_after_5_when_read_then_the_next_request_comes_after_exactly_5_seconds_of_sleep(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [rate_limited_response(retry_after=5), _page()])

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert [exchange.status for exchange in self._time.exchanges] == [200, 429, 200]
        assert self._time.waits_before(2) == [5.0]
        assert [record["id"] for record in records_of(output, "orders")] == ["1"]

    @HttpMocker()
    def test_given_429_with_x_retry_after_on_the_clock_request_when_read_then_it_waits_exactly_that_long(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(
            OrderDeskRequestBuilder.test_endpoint().build(), [rate_limited_response(retry_after=12), clock_response()]
        )
        http_mocker.get(_orders().build(), _page())

        read_source(ConfigBuilder().build(), catalog("orders"))

        assert self._time.waits_before(1) == [12.0]
        assert self._time.waits_before(2) == []

    @HttpMocker()
    def test_given_429_without_x_retry_after_when_read_then_the_cdks_exponential_backoff_applies(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [rate_limited_response(), rate_limited_response(), _page()])

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert self._time.waits_before(2) == [1]
        assert self._time.waits_before(3) == [2]
        assert len(records_of(output, "orders")) == 1

    @HttpMocker()
    def test_given_a_server_error_then_success_when_read_then_the_request_is_retried(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders().build(),
            [
                error_response(HTTPStatus.INTERNAL_SERVER_ERROR),
                error_response(HTTPStatus.BAD_GATEWAY),
                error_response(HTTPStatus.SERVICE_UNAVAILABLE),
                error_response(HTTPStatus.GATEWAY_TIMEOUT),
                _page(),
            ],
        )

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert [exchange.status for exchange in self._time.exchanges] == [200, 500, 502, 503, 504, 200]
        assert [self._time.waits_before(n) for n in (2, 3, 4, 5)] == [[1], [2], [4], [8]]
        assert len(records_of(output, "orders")) == 1
        assert output.errors == []

    @HttpMocker()
    def test_given_200_with_status_error_then_success_when_read_then_the_request_is_retried(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [status_error_response(), _page()])

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert len(self._time.urls("/orders")) == 2
        assert self._time.waits_before(2) == [1]
        assert len(records_of(output, "orders")) == 1

    @HttpMocker()
    def test_given_a_200_that_is_not_json_then_success_when_read_then_the_request_is_retried(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [HttpResponse("<html>Bad gateway</html>", 200), _page()])

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert len(self._time.urls("/orders")) == 2
        assert len(records_of(output, "orders")) == 1

    @HttpMocker()
    def test_given_persistent_server_errors_when_read_then_a_transient_error_trace_after_all_retries(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [error_response(HTTPStatus.INTERNAL_SERVER_ERROR)] * (MAX_RETRIES + 1))

        output = read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True)

        assert len(self._time.urls("/orders")) == MAX_RETRIES + 1
        error = output.errors[0].trace.error
        assert error.failure_type == FailureType.transient_error
        assert "Order Desk answered HTTP 500" in error.message
        assert output.get_stream_statuses("orders")[-1].name == "INCOMPLETE"

    @HttpMocker()
    def test_given_persistent_server_errors_on_orders_when_read_with_folders_then_folders_are_still_read(
        self, http_mocker: HttpMocker
    ) -> None:
        # Order Desk answered, so it is reachable: a failing orders endpoint says nothing of /store.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), [error_response(HTTPStatus.BAD_GATEWAY)] * (MAX_RETRIES + 1))
        store = {"status": "success", "store": {"id": "4471", "folders": {"31201": "New"}}}
        http_mocker.get(OrderDeskRequestBuilder.store().build(), HttpResponse(json.dumps(store), 200))

        output = read_source(ConfigBuilder().build(), catalog("orders", "folders"), expecting_exception=True)

        assert {error.trace.error.failure_type for error in output.errors} == {FailureType.transient_error}
        assert records_of(output, "folders") == [{"id": "31201", "name": "New"}]
        assert output.get_stream_statuses("folders")[-1].name == "COMPLETE"
        assert output.get_stream_statuses("orders")[-1].name == "INCOMPLETE"

    @HttpMocker()
    def test_given_a_429_streak_longer_than_the_retries_when_read_then_a_transient_error_and_earlier_state_is_kept(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders().with_limit(2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-01 11:00:00"))
            .with_total_records(3)
            .with_limit(2)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", SERVER_NOW, a_bare_order("3", "2024-02-02 09:00:00"), total_records=3)
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window("2024-02-01 11:00:00", SERVER_NOW).with_limit(2).build(),
            [rate_limited_response(retry_after=3)] * (MAX_RETRIES + 1),
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"), expecting_exception=True)

        assert states_of(output, "orders") == [{"date_updated": "2024-02-01T11:00:00Z"}]
        assert output.errors[0].trace.error.failure_type == FailureType.transient_error
        assert self._time.waits == [3.0] * MAX_RETRIES


def test_given_a_timeout_then_success_when_read_then_the_request_is_retried(requests_mock, fake_time) -> None:  # type: ignore[no-untyped-def]
    base = "https://app.orderdesk.me/api/v2"
    requests_mock.get(f"{base}/test", json={"status": "success", "current_date_time": SERVER_NOW})
    requests_mock.get(
        f"{base}/orders",
        [
            {"exc": requests.exceptions.ReadTimeout("read timed out")},
            {"exc": requests.exceptions.ConnectionError("Connection refused")},
            {"text": orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build().body},
        ],
    )

    output = read_source(ConfigBuilder().build(), catalog("orders"))

    assert [record["id"] for record in records_of(output, "orders")] == ["1"]
    assert fake_time.waits == [1, 2]
