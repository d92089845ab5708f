"""How the connector talks to Order Desk: auth headers, the JSON envelope, errors and retries."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlsplit

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import (
    BackoffStrategy,
    ErrorResolution,
    HttpStatusErrorHandler,
    ResponseAction,
)
from airbyte_cdk.sources.streams.http.error_handlers.default_error_mapping import DEFAULT_ERROR_MAPPING

from .rate_limit import retry_after_seconds

# The CDK counts every kind of retry alike. Many retries, because a 429 from a bucket shared with other apps of
# the store costs only its X-Retry-After (about a second); five minutes in all, so that exponential backoff on
# server errors gives up after about as long as it did with 8.
MAX_RETRIES = 100
MAX_RETRY_SECONDS = 300
# Order Desk can take many seconds to build a page of 500 large orders.
REQUEST_TIMEOUT = (10, 120)

CREDENTIALS_HINT = (
    "Order Desk rejected the Store ID or API key. Check both in Order Desk (Store Settings, API tab) "
    "and make sure the API key has not been deleted."
)


class OrderDeskAuth(requests.auth.AuthBase):
    """Order Desk wants two headers on every call; the CDK's token authenticators set only one."""

    def __init__(self, store_id: str, api_key: str) -> None:
        self._store_id = store_id
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["ORDERDESK-STORE-ID"] = self._store_id
        request.headers["ORDERDESK-API-KEY"] = self._api_key
        return request

    def __repr__(self) -> str:  # never let the key reach a log through a repr
        return f"OrderDeskAuth(store_id={self._store_id!r})"


class NotJSONError(ValueError):
    pass


def response_json(response: requests.Response) -> Mapping[str, Any]:
    """The decoded body, parsed once per response (the error handler and the parser both need it)."""
    cached = getattr(response, "_orderdesk_json", None)
    if cached is None:
        try:
            cached = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            raise NotJSONError(f"not JSON ({len(response.content)} bytes): {error}") from None
        if not isinstance(cached, dict):
            raise NotJSONError(f"JSON {type(cached).__name__}, not an object")
        response._orderdesk_json = cached  # type: ignore[attr-defined]
    return cached


class OrderDeskErrorHandler(HttpStatusErrorHandler):
    """The CDK's status mapping, plus Order Desk's habit of answering 200 with `"status": "error"`."""

    def __init__(self, logger: logging.Logger, max_retries: int = MAX_RETRIES) -> None:
        mapping = dict(DEFAULT_ERROR_MAPPING)
        for status in (401, 403):
            mapping[status] = ErrorResolution(ResponseAction.FAIL, FailureType.config_error, CREDENTIALS_HINT)
        mapping[404] = ErrorResolution(
            ResponseAction.FAIL,
            FailureType.config_error,
            "Order Desk answered 404 Not Found. Check the API URL (leave it empty for the default).",
        )
        super().__init__(
            logger=logger, error_mapping=mapping, max_retries=max_retries, max_time=timedelta(seconds=MAX_RETRY_SECONDS)
        )

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]] = None) -> ErrorResolution:
        response = response_or_exception
        if isinstance(response, (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL)):
            return ErrorResolution(
                ResponseAction.FAIL,
                FailureType.config_error,
                f"The API URL is not usable: {response}. Leave it empty for the default.",
            )
        if isinstance(response, requests.RequestException):
            url = request_url(response)
            where = f"Order Desk at {url}" if url else "Order Desk"
            return _retry(f"Could not get an answer from {where}: {describe_network_error(response)}.")
        if isinstance(response, requests.Response):
            if 500 <= response.status_code < 600:
                return _retry(f"Order Desk answered HTTP {response.status_code} (a server-side problem).")
            if response.ok:
                try:
                    body = response_json(response)
                except NotJSONError as error:
                    return _retry(f"Order Desk answered HTTP {response.status_code} with a body that is {error}.")
                if str(body.get("status", "success")).lower() == "error":
                    message = str(body.get("message") or "no message")[:300]
                    return _retry(f"Order Desk answered with an error: {message}.")
                return ErrorResolution(ResponseAction.SUCCESS)
        return super().interpret_response(response_or_exception)


def describe_network_error(error: requests.RequestException) -> str:
    """A short, human reason; requests' own messages run to several nested lines."""
    text = str(error).lower()
    if isinstance(error, requests.Timeout):
        return "the request timed out"
    if "refused" in text:
        return "the connection was refused"
    if "name or service not known" in text or "nodename nor servname" in text or "failed to resolve" in text:
        return "the host name could not be resolved"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "the connection was reset"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    return type(error).__name__


def request_url(error: requests.RequestException) -> Optional[str]:
    """Where the failed request went, as `scheme://host:port/path`: without the query (page bounds, noise)
    and without any `user:password@` in the URL. The API key is a header, never part of the URL."""
    url = getattr(getattr(error, "request", None), "url", None)
    if not url:
        return None
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not host:
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


class QuietTracebacks(logging.Filter):
    """The CDK logs a full traceback for every exhausted retry; the message already says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def cdk_error_text(error: Exception) -> str:
    """The reason inside the CDK's "Exhausted available request attempts ..." wrapper."""
    text = getattr(error, "message", None) or str(error)
    marker = "Exception: "
    return text.split(marker, 1)[1] if "request attempts" in text and marker in text else text


def _retry(message: str) -> ErrorResolution:
    return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, message)


class RetryAfterBackoff(BackoffStrategy):
    """Waits exactly what Order Desk's `X-Retry-After` says on a 429.

    The CDK has no reader for this header in Python streams, and it adds one second to whatever a
    strategy returns, so we return one second less (never zero: zero means "no advice").
    """

    def backoff_time(
        self, response_or_exception: Optional[Union[requests.Response, requests.RequestException]], attempt_count: int
    ) -> Optional[float]:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            seconds = retry_after_seconds(response_or_exception)
            if seconds is not None:
                return max(seconds - 1.0, 1e-6)
        return None
