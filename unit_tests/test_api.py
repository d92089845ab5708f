"""`api.py` on its own: the two auth headers, the JSON envelope, and how each answer is resolved."""

from __future__ import annotations

import logging
from typing import Optional

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import ResponseAction

from source_orderdesk.api import (
    CREDENTIALS_HINT,
    NotJSONError,
    OrderDeskAuth,
    OrderDeskErrorHandler,
    cdk_error_text,
    describe_network_error,
    response_json,
)


def _response(status: int = 200, body: bytes = b'{"status": "success"}', headers: Optional[dict] = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    response.url = "https://app.orderdesk.me/api/v2/orders"
    return response


def _handler() -> OrderDeskErrorHandler:
    return OrderDeskErrorHandler(logger=logging.getLogger("test"), max_retries=3)


def test_given_a_request_when_authenticated_then_both_order_desk_headers_are_set() -> None:
    request = requests.Request("GET", "https://app.orderdesk.me/api/v2/test").prepare()

    OrderDeskAuth("4471", "secret-key")(request)

    assert request.headers["ORDERDESK-STORE-ID"] == "4471"
    assert request.headers["ORDERDESK-API-KEY"] == "secret-key"
    assert "secret-key" not in (request.url or "")


def test_given_a_json_object_when_decoding_then_it_is_parsed_once_and_reused() -> None:
    response = _response(body=b'{"status": "success", "orders": []}')

    first = response_json(response)
    response._content = b"garbage"  # a second parse would now fail

    assert response_json(response) is first


@pytest.mark.parametrize("body", [b"<html>502</html>", b"[1, 2]", b""])
def test_given_a_body_that_is_not_a_json_object_when_decoding_then_not_json_error(body: bytes) -> None:
    with pytest.raises(NotJSONError):
        response_json(_response(body=body))


@pytest.mark.parametrize("status", [401, 403])
def test_given_a_credentials_rejection_when_resolving_then_fail_as_config_error_with_the_hint(status: int) -> None:
    resolution = _handler().interpret_response(_response(status, b'{"status":"error"}'))

    assert resolution.response_action == ResponseAction.FAIL
    assert resolution.failure_type == FailureType.config_error
    assert resolution.error_message == CREDENTIALS_HINT


def test_given_404_when_resolving_then_fail_as_config_error_about_the_api_url() -> None:
    resolution = _handler().interpret_response(_response(404, b"{}"))

    assert (resolution.response_action, resolution.failure_type) == (ResponseAction.FAIL, FailureType.config_error)
    assert "API URL" in resolution.error_message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520])
def test_given_a_server_error_when_resolving_then_retry_as_transient(status: int) -> None:
    resolution = _handler().interpret_response(_response(status, b"<html>oops</html>"))

    assert (resolution.response_action, resolution.failure_type) == (ResponseAction.RETRY, FailureType.transient_error)
    assert str(status) in resolution.error_message


def test_given_429_when_resolving_then_rate_limited() -> None:
    resolution = _handler().interpret_response(_response(429, b"{}"))

    assert resolution.response_action == ResponseAction.RATE_LIMITED


def test_given_200_with_status_error_when_resolving_then_retry_with_order_desks_message() -> None:
    resolution = _handler().interpret_response(_response(200, b'{"status": "ERROR", "message": "DB busy"}'))

    assert resolution.response_action == ResponseAction.RETRY
    assert "DB busy" in resolution.error_message


def test_given_200_that_is_not_json_when_resolving_then_retry() -> None:
    resolution = _handler().interpret_response(_response(200, b"<html>maintenance</html>"))

    assert resolution.response_action == ResponseAction.RETRY


@pytest.mark.parametrize("body", [b'{"status": "success", "orders": []}', b'{"orders": []}'])
def test_given_a_good_200_when_resolving_then_success(body: bytes) -> None:
    assert _handler().interpret_response(_response(200, body)).response_action == ResponseAction.SUCCESS


@pytest.mark.parametrize(
    "error, reason",
    [
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=120)"), "timed out"),
        (requests.exceptions.ConnectTimeout("connect timeout"), "timed out"),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "refused"),
        (requests.exceptions.ConnectionError("Failed to resolve 'app.orderdesk.me'"), "could not be resolved"),
        (requests.exceptions.ConnectionError("Connection reset by peer"), "reset"),
        (requests.exceptions.ChunkedEncodingError("incomplete read"), "cut off"),
    ],
)
def test_given_a_network_error_when_resolving_then_retry_with_a_short_human_reason(error: Exception, reason: str) -> None:
    resolution = _handler().interpret_response(error)

    assert (resolution.response_action, resolution.failure_type) == (ResponseAction.RETRY, FailureType.transient_error)
    assert reason in resolution.error_message
    assert reason in describe_network_error(error)  # type: ignore[arg-type]


def test_given_a_refused_connection_when_resolving_then_the_message_names_the_url_without_query_or_credentials() -> None:
    request = requests.Request("GET", "http://user:pw@127.0.0.1:9/api/v2/orders", params={"limit": 500}).prepare()
    OrderDeskAuth("4471", "secret-key")(request)
    error = requests.exceptions.ConnectionError("[Errno 111] Connection refused", request=request)

    message = _handler().interpret_response(error).error_message

    assert message == "Could not get an answer from Order Desk at http://127.0.0.1:9/api/v2/orders: the connection was refused."


@pytest.mark.parametrize("error", [requests.exceptions.InvalidURL("bad"), requests.exceptions.InvalidSchema("ftp")])
def test_given_an_unusable_url_when_resolving_then_fail_as_config_error(error: Exception) -> None:
    resolution = _handler().interpret_response(error)

    assert (resolution.response_action, resolution.failure_type) == (ResponseAction.FAIL, FailureType.config_error)


def test_given_the_cdks_exhausted_retries_wrapper_when_extracting_the_reason_then_only_the_reason_is_kept() -> None:
    wrapped = Exception(
        "Exhausted available request attempts. Please see logs for more details. Exception: Order Desk answered HTTP 503."
    )

    assert cdk_error_text(wrapped) == "Order Desk answered HTTP 503."
    assert cdk_error_text(Exception("plain")) == "plain"
