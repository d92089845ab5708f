"""An API URL where nothing listens: the read retries, then fails with a message naming that URL."""

from __future__ import annotations

import socket

from airbyte_cdk.models import FailureType

from source_orderdesk.api import MAX_RETRIES

from .config import API_KEY, ConfigBuilder
from .source_runner import catalog, every_message_text, read_source


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_given_an_api_url_on_a_closed_port_when_read_then_it_fails_as_transient_naming_the_url_and_not_the_key(
    fake_time,  # type: ignore[no-untyped-def]  # the retries' backoff is recorded, not slept
) -> None:
    api_url = f"http://127.0.0.1:{_closed_port()}/api/v2"

    output = read_source(ConfigBuilder().with_api_url(api_url).build(), catalog("orders"), expecting_exception=True)

    assert output.errors
    for error in output.errors:
        assert error.trace.error.failure_type == FailureType.transient_error
        assert f"Order Desk at {api_url}/test: the connection was refused" in error.trace.error.message
    assert len(fake_time.waits) == MAX_RETRIES
    assert API_KEY not in every_message_text(output)


def test_given_an_api_url_on_a_closed_port_when_read_with_other_streams_then_one_request_is_retried_and_all_end_incomplete(
    fake_time,  # type: ignore[no-untyped-def]
) -> None:
    # Every stream's first request would be refused the same way: retrying each for five minutes in turn
    # made a sync of the default catalog take a quarter of an hour to report one unreachable URL.
    api_url = f"http://127.0.0.1:{_closed_port()}/api/v2"

    output = read_source(
        ConfigBuilder().with_api_url(api_url).build(),
        catalog("orders", "order_items", "folders", "store", "inventory_items"),
        expecting_exception=True,
    )

    assert len(fake_time.waits) == MAX_RETRIES, "one request was retried, not one per stream"
    assert output.errors
    for error in output.errors:  # the order pass's trace, then the sync's
        assert error.trace.error.failure_type == FailureType.transient_error
        assert "the connection was refused" in error.trace.error.message
    for stream in ("orders", "order_items", "folders", "store", "inventory_items"):
        assert output.get_stream_statuses(stream)[-1].name == "INCOMPLETE", stream
    assert any("Order Desk could not be reached" in log.log.message for log in output.logs)
    assert API_KEY not in every_message_text(output)


def _timeouts_sent(monkeypatch, run) -> list:  # type: ignore[no-untyped-def]
    """The `timeout` of every HTTP request `run` sends (the CDK sends each with its stream's request_kwargs)."""
    from source_orderdesk.streams import OrderDeskStream

    sent, request_kwargs = [], OrderDeskStream.request_kwargs

    def recording_request_kwargs(stream, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(request_kwargs(stream, **kwargs)["timeout"])
        return request_kwargs(stream, **kwargs)

    monkeypatch.setattr(OrderDeskStream, "request_kwargs", recording_request_kwargs)
    run()
    return sent


def test_given_a_check_when_it_asks_order_desk_then_it_waits_less_for_an_answer_than_a_sync_does(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A server that accepts and never answers: a user waiting on "Test connection" hears of it within a minute.
    from airbyte_cdk.test.mock_http import HttpMocker

    from source_orderdesk.api import REQUEST_TIMEOUT
    from source_orderdesk.source import CHECK_REQUEST_TIMEOUT

    from .request_builder import OrderDeskRequestBuilder
    from .response_builder import SERVER_NOW, an_order, clock_response, orders_page
    from .source_runner import check_source

    def check() -> None:
        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            check_source(ConfigBuilder().build())

    def read() -> None:
        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(an_order("1", "2024-02-01 10:00:00")).build(),
            )
            read_source(ConfigBuilder().build(), catalog("orders"))

    assert set(_timeouts_sent(monkeypatch, check)) == {CHECK_REQUEST_TIMEOUT}
    assert set(_timeouts_sent(monkeypatch, read)) == {REQUEST_TIMEOUT}
    assert 2 * CHECK_REQUEST_TIMEOUT[1] <= 60 < REQUEST_TIMEOUT[1]
