"""The API key never reaches any emitted message or log line: check, discover, read, and failures."""

from __future__ import annotations

import io
import logging
from http import HTTPStatus
from typing import Callable, Iterator

import pytest
from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.mock_http import HttpMocker

from source_orderdesk.api import MAX_RETRIES

from .config import API_KEY, ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, an_order, clock_response, error_response, orders_page
from .source_runner import ORDER_STREAMS, catalog, check_source, discover_source, every_message_text, read_source


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log line at any level, formatted as the connector prints them (Airbyte's formatter)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(AirbyteLogFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def _mock_clock(http_mocker: HttpMocker) -> None:
    http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())


def _mock_orders(http_mocker: HttpMocker) -> None:
    http_mocker.get(
        OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
        orders_page(an_order("1", "2024-02-01 10:00:00")).build(),
    )


def _check_ok(debug: bool) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        _mock_clock(http_mocker)
        return check_source(ConfigBuilder().build(), debug=debug)


def _check_401(debug: bool) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), error_response(HTTPStatus.UNAUTHORIZED))
        return check_source(ConfigBuilder().build(), debug=debug)


def _check_bad_config(debug: bool) -> EntrypointOutput:
    return check_source(ConfigBuilder().with_page_size(9999).build(), debug=debug)


def _discover(debug: bool) -> EntrypointOutput:
    return discover_source(ConfigBuilder().build())


def _read_ok(debug: bool) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        _mock_clock(http_mocker)
        _mock_orders(http_mocker)
        return read_source(ConfigBuilder().build(), catalog(*ORDER_STREAMS), debug=debug)


def _read_401(debug: bool) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        _mock_clock(http_mocker)
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
            error_response(HTTPStatus.UNAUTHORIZED),
        )
        return read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True, debug=debug)


def _read_persistent_500(debug: bool) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        _mock_clock(http_mocker)
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
            [error_response(HTTPStatus.INTERNAL_SERVER_ERROR)] * (MAX_RETRIES + 1),
        )
        return read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True, debug=debug)


def _read_bad_config(debug: bool) -> EntrypointOutput:
    return read_source(
        ConfigBuilder().with_start_date("2999-01-01").build(), catalog("orders"), expecting_exception=True, debug=debug
    )


SCENARIOS = {
    "check": _check_ok,
    "check_401": _check_401,
    "check_bad_config": _check_bad_config,
    "discover": _discover,
    "read": _read_ok,
    "read_401": _read_401,
    "read_persistent_500": _read_persistent_500,
    "read_bad_config": _read_bad_config,
}


@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_given_a_command_when_run_then_the_api_key_appears_in_no_message_and_no_log_line(
    scenario: str, debug: bool, debug_log: io.StringIO
) -> None:
    run: Callable[[bool], EntrypointOutput] = SCENARIOS[scenario]

    output = run(debug)

    emitted = every_message_text(output)
    assert emitted  # the command did produce output to search
    assert API_KEY not in emitted
    assert API_KEY not in debug_log.getvalue()


def test_given_debug_logging_when_read_then_requests_are_logged_with_the_key_masked(debug_log: io.StringIO) -> None:
    # Proves the search above can fail: the key really travels in a header that --debug logs.
    _read_ok(debug=True)

    assert "ORDERDESK-API-KEY" in debug_log.getvalue()
    assert "****" in debug_log.getvalue()


def test_given_an_api_key_pasted_with_surrounding_spaces_when_read_with_debug_then_the_key_appears_in_no_log_line(
    debug_log: io.StringIO,
) -> None:
    with HttpMocker() as http_mocker:
        _mock_clock(http_mocker)
        _mock_orders(http_mocker)
        output = read_source(ConfigBuilder().with_api_key(f" {API_KEY}\n").build(), catalog("orders"), debug=True)

    assert API_KEY not in every_message_text(output)
    assert API_KEY not in debug_log.getvalue()


def test_given_the_auth_object_when_printed_then_its_repr_hides_the_key() -> None:
    from source_orderdesk.api import OrderDeskAuth

    auth = OrderDeskAuth("4471", API_KEY)

    assert API_KEY not in repr(auth) and API_KEY not in str(auth)
    assert "4471" in repr(auth)


KEY_IN_ANOTHER_SETTING = {
    "start_date": lambda builder: builder.with_start_date(API_KEY),
    "page_size": lambda builder: builder.with_page_size(API_KEY),
    "lookback_window_minutes": lambda builder: builder.with_lookback_window_minutes(API_KEY),
    "folder_ids": lambda builder: builder.with_folder_ids([API_KEY]),
    "api_url": lambda builder: builder.with_api_url(f"http://127.0.0.1:1/{API_KEY}/api/v2"),
}


@pytest.mark.parametrize("setting", list(KEY_IN_ANOTHER_SETTING))
def test_given_the_api_key_pasted_into_another_setting_when_checked_then_the_failed_status_does_not_repeat_it(
    setting: str, debug_log: io.StringIO
) -> None:
    # The CDK masks secrets in log lines, but a connection status's message goes out as written.
    config = KEY_IN_ANOTHER_SETTING[setting](ConfigBuilder()).build()

    output = check_source(config)

    status = output.connection_status_messages[-1].connectionStatus
    assert status.status.name == "FAILED"
    # still says what to fix: the setting, or (a well-formed URL, tried) the address, masked
    assert (setting if setting != "api_url" else "http://127.0.0.1:1/****/api/v2") in status.message
    assert API_KEY not in every_message_text(output)
    assert API_KEY not in debug_log.getvalue()


@pytest.mark.parametrize("setting", list(KEY_IN_ANOTHER_SETTING))
def test_given_the_api_key_pasted_into_another_setting_when_discovered_or_read_then_no_message_repeats_it(
    setting: str, debug_log: io.StringIO
) -> None:
    config = KEY_IN_ANOTHER_SETTING[setting](ConfigBuilder()).build()

    outputs = [read_source(config, catalog("orders"), expecting_exception=True)]
    if setting != "api_url":  # a well-formed URL fails only once it is asked, and discover asks nothing
        outputs.append(discover_source(config, expecting_exception=True))

    for output in outputs:
        assert output.errors, "the bad setting should fail the command"
        assert API_KEY not in every_message_text(output)
    assert API_KEY not in debug_log.getvalue()
