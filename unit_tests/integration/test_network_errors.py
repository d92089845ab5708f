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
