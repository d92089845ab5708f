"""A bad config fails check, discover and read with a config error whose message says which setting to fix.

A value of the wrong JSON type included: the connector checks it before the CDK's spec check, whose message
("'lots' is not of type 'integer'") does not name the setting (see `SourceOrderdesk.configure`).
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from airbyte_cdk.models import FailureType, Status, Type
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from .config import ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, clock_response, orders_page, store_response
from .source_runner import (
    catalog,
    check_source,
    connection_status,
    discover_source,
    every_message_text,
    read_source,
    records_of,
    warnings_of,
)

# (config, words that name the setting, words that say what is wrong)
CASES: Dict[str, Any] = {
    "malformed_start_date": pytest.param(
        ConfigBuilder().with_start_date("2024/01/31").build(),
        ("start date", "start_date"),
        ("yyyy-mm-dd",),
    ),
    "impossible_start_date": pytest.param(
        ConfigBuilder().with_start_date("2024-02-30").build(), ("start date", "start_date"), ("calendar",)
    ),
    "future_start_date": pytest.param(
        ConfigBuilder().with_start_date("2999-01-01").build(), ("start date", "start_date"), ("future",)
    ),
    "page_size_zero": pytest.param(ConfigBuilder().with_page_size(0).build(), ("page size", "page_size"), ("1",)),
    "page_size_above_500": pytest.param(ConfigBuilder().with_page_size(501).build(), ("page size", "page_size"), ("500",)),
    "page_size_not_a_number": pytest.param(ConfigBuilder().with_page_size("lots").build(), ("page size", "page_size"), ("lots",)),
    "page_size_in_quotes": pytest.param(
        ConfigBuilder().with_page_size("100").build(), ("page size", "page_size"), ("without quotes",)
    ),
    "page_size_not_whole": pytest.param(ConfigBuilder().with_page_size(2.5).build(), ("page size", "page_size"), ("whole",)),
    "page_size_a_list": pytest.param(ConfigBuilder().with_page_size([100]).build(), ("page size", "page_size"), ("whole",)),
    "lookback_in_quotes": pytest.param(
        ConfigBuilder().with_lookback_window_minutes("60").build(), ("lookback",), ("without quotes",)
    ),
    "folder_ids_not_numbers": pytest.param(ConfigBuilder().with_folder_ids(["Shipped"]).build(), ("folder",), ("shipped",)),
    "folder_ids_true": pytest.param(ConfigBuilder().with_folder_ids([True]).build(), ("folder",), ("number",)),
    "folder_ids_not_a_list": pytest.param(ConfigBuilder().with_folder_ids("31201").build(), ("folder",), ("list",)),
    "folder_ids_an_object": pytest.param(ConfigBuilder().with_folder_ids({"id": 31201}).build(), ("folder",), ("list",)),
    "start_date_a_number": pytest.param(
        ConfigBuilder().with_start_date(20240131).build(), ("start date", "start_date"), ("2024-01-31",)
    ),
    "store_id_a_number": pytest.param(ConfigBuilder().with_store_id(4471).build(), ("store id", "store_id"), ('"4471"',)),
    "api_key_a_number": pytest.param(ConfigBuilder().with_api_key(73914025).build(), ("api key", "api_key"), ("text",)),
    "api_url_a_number": pytest.param(ConfigBuilder().with_api_url(8080).build(), ("api url", "api_url"), ("url",)),
    "api_url_not_http": pytest.param(
        ConfigBuilder().with_api_url("ftp://orderdesk.example.com").build(), ("api url",), ("http",)
    ),
    "api_url_not_a_url": pytest.param(ConfigBuilder().with_api_url("app.orderdesk.me").build(), ("api url",), ("http",)),
    "store_id_not_digits": pytest.param(
        ConfigBuilder().with_store_id("my-store").build(),
        ("store id", "store_id"),
        ("number", "digit"),
    ),
    "api_key_missing": pytest.param(ConfigBuilder().without("api_key").build(), ("api key", "api_key"), ("required", "missing")),
    "lookback_negative": pytest.param(ConfigBuilder().with_lookback_window_minutes(-5).build(), ("lookback",), ("0",)),
    "lookback_above_a_week": pytest.param(ConfigBuilder().with_lookback_window_minutes(10081).build(), ("lookback",), ("10080",)),
}


def _assert_clear(message: str, names: tuple, problems: tuple) -> None:
    text = message.lower()
    assert any(name in text for name in names), f"{message!r} does not name the setting ({names})"
    assert any(problem in text for problem in problems), f"{message!r} does not say what is wrong ({problems})"
    assert "config validation error" not in text, f"{message!r} is the CDK's spec check, not the connector's message"


@pytest.mark.parametrize("config, names, problems", list(CASES.values()), ids=list(CASES))
def test_given_a_bad_config_when_check_then_failed_with_a_message_naming_the_setting(
    config: Dict[str, Any], names: tuple, problems: tuple, fake_time
) -> None:  # type: ignore[no-untyped-def]
    output = check_source(config)

    status = connection_status(output)
    assert status.status == Status.FAILED
    _assert_clear(status.message, names, problems)
    assert fake_time.exchanges == []  # decided before any request


@pytest.mark.parametrize("config, names, problems", list(CASES.values()), ids=list(CASES))
def test_given_a_bad_config_when_read_then_a_config_error_naming_the_setting(
    config: Dict[str, Any], names: tuple, problems: tuple, fake_time
) -> None:  # type: ignore[no-untyped-def]
    output = read_source(config, catalog("orders"), expecting_exception=True)

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    _assert_clear(error.message, names, problems)
    assert fake_time.exchanges == []


@pytest.mark.parametrize("config, names, problems", list(CASES.values()), ids=list(CASES))
def test_given_a_bad_config_when_discover_then_a_config_error_naming_the_setting(
    config: Dict[str, Any], names: tuple, problems: tuple, fake_time
) -> None:  # type: ignore[no-untyped-def]
    output = discover_source(config, expecting_exception=True)

    assert [message for message in output.get_message_iterator() if message.type == Type.CATALOG] == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    _assert_clear(error.message, names, problems)
    assert fake_time.exchanges == []


def test_given_an_api_key_of_the_wrong_type_when_check_and_read_then_the_key_is_in_no_message() -> None:
    config = ConfigBuilder().with_api_key(73914025).build()

    outputs = [check_source(config), read_source(config, catalog("orders"), expecting_exception=True)]

    assert all("73914025" not in every_message_text(output) for output in outputs)


def _first_orders_page_request() -> OrderDeskRequestBuilder:
    return OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).with_limit(500).with_offset(0)


def test_given_folder_ids_as_numeric_strings_when_check_then_succeeded() -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New", "31203": "Closed"}))

        output = check_source(ConfigBuilder().with_folder_ids(["31201", " 31203 "]).build())

        assert connection_status(output).status == Status.SUCCEEDED


def test_given_a_folder_id_the_store_does_not_have_when_check_then_failed_listing_the_stores_folders() -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New", "31203": "Closed"}))

        status = connection_status(check_source(ConfigBuilder().with_folder_ids([31201, 999999]).build()))

        assert status.status == Status.FAILED
        assert status.message == (
            "The Folder IDs (folder_ids) 999999 are not folders of this store, whose folders are: 31201 (New), 31203 (Closed). "
            "Remove them, or leave the setting empty for all folders."
        )


def test_given_no_folder_ids_when_check_then_only_the_connection_test_is_requested() -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())

        assert connection_status(check_source(ConfigBuilder().build())).status == Status.SUCCEEDED


def test_given_folder_ids_as_numeric_strings_when_read_then_the_folder_filter_is_sent() -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _first_orders_page_request().with_folder_ids([31201, 31203]).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build(),
        )

        http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New", "31203": "Closed"}))

        output = read_source(ConfigBuilder().with_folder_ids(["31201", 31203]).build(), catalog("orders"))

        assert output.errors == []
        assert [record["id"] for record in records_of(output, "orders")] == ["1"]


def test_given_a_folder_id_the_store_no_longer_has_when_read_then_a_config_error_listing_its_folders_and_no_orders_request(
    fake_time,  # type: ignore[no-untyped-def]
) -> None:
    # A folder deleted in Order Desk after set-up: the filter would match no order, and the sync find none.
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New"}))

        output = read_source(ConfigBuilder().with_folder_ids([99999]).build(), catalog("orders"), expecting_exception=True)

    assert [error.trace.error.failure_type for error in output.errors] == [FailureType.config_error]
    assert "99999 are not folders of this store, whose folders are: 31201 (New)" in output.errors[0].trace.error.message
    assert fake_time.urls("/orders") == []


def test_given_folder_ids_and_the_folders_and_store_streams_when_read_then_the_store_is_requested_once(
    fake_time,  # type: ignore[no-untyped-def]
) -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New"}))
        http_mocker.get(
            _first_orders_page_request().with_folder_ids([31201]).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build(),
        )

        output = read_source(ConfigBuilder().with_folder_ids([31201]).build(), catalog("orders", "folders", "store"))

    assert len(fake_time.urls("/store")) == 1
    assert records_of(output, "folders") == [{"id": "31201", "name": "New"}] and len(records_of(output, "store")) == 1


def test_given_the_store_cannot_be_listed_when_read_with_folder_ids_then_a_warning_and_the_orders_are_read(
    fake_time,  # type: ignore[no-untyped-def]
) -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(OrderDeskRequestBuilder.store().build(), HttpResponse("<html>Bad gateway</html>", 502))
        http_mocker.get(
            _first_orders_page_request().with_folder_ids([31201]).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build(),
        )

        output = read_source(ConfigBuilder().with_folder_ids([31201]).build(), catalog("orders"))

    assert [record["id"] for record in records_of(output, "orders")] == ["1"]
    warnings = warnings_of(output)
    assert any("Could not list the store's folders to check the Folder IDs" in warning for warning in warnings)


def test_given_optional_settings_set_to_null_when_check_then_succeeded_with_their_defaults() -> None:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        config = ConfigBuilder().with_page_size(None).with_lookback_window_minutes(None).with_folder_ids(None).build()

        output = check_source({**config, "start_date": None, "api_url": None})

        assert connection_status(output).status == Status.SUCCEEDED
