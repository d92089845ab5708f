"""`GET /store` returns the store's secrets (its own API key, SMTP credentials, integration tokens). They
reach neither a record nor, with `--debug` (where the CDK logs every response body), any log line."""

from __future__ import annotations

import io
import json
import logging
from typing import Iterator

import pytest
from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse
from airbyte_cdk.test.mock_http.response_builder import find_template

from .config import DEFAULT_API_URL, ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .source_runner import catalog, every_message_text, read_source, records_of

# Every secret in the store.json template contains this, so one search finds any of them.
LEAK_MARK = "must-not-leak"


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


def _store_response() -> HttpResponse:
    # Written the way Order Desk (PHP's json_encode) writes it: every "/" escaped as "\/".
    return HttpResponse(json.dumps(find_template("store", __file__)).replace("/", "\\/"), 200)


def _read_store_and_folders(*store_responses: HttpResponse, debug: bool = True) -> EntrypointOutput:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder(DEFAULT_API_URL, "store", {}).build(), list(store_responses))
        return read_source(ConfigBuilder().build(), catalog("store", "folders", sync_mode=SyncMode.full_refresh), debug=debug)


def test_given_debug_logging_when_reading_the_store_then_its_secret_settings_appear_in_no_message_and_no_log_line(
    debug_log: io.StringIO,
) -> None:
    output = _read_store_and_folders(_store_response(), _store_response())

    assert records_of(output, "store") and len(records_of(output, "folders")) == 3
    assert LEAK_MARK not in every_message_text(output)
    logged = debug_log.getvalue()
    # The search can fail: the /store body really is logged, with its secrets masked and the rest kept.
    assert "Receiving response" in logged and "Example Outfitters" in logged
    assert '\\"smtp_password\\": \\"****\\"' in logged
    assert LEAK_MARK not in logged


def test_given_debug_logging_and_a_store_body_that_is_not_json_when_reading_then_the_body_is_not_logged(
    debug_log: io.StringIO,
) -> None:
    cut_off = HttpResponse(json.dumps(find_template("store", __file__))[:-40], 200)  # secrets but no end: not parseable

    output = _read_store_and_folders(cut_off, _store_response(), _store_response())

    assert records_of(output, "store"), "the cut-off answer was retried"
    logged = debug_log.getvalue()
    assert "not JSON, with secret-looking keys" in logged  # in the debug log and in the INFO line before the retry
    assert "Response Content: (" in logged
    assert LEAK_MARK not in logged
    assert LEAK_MARK not in every_message_text(output)


def test_given_the_store_when_read_then_its_record_keeps_plain_settings_and_drops_secret_ones() -> None:
    output = _read_store_and_folders(_store_response(), _store_response(), debug=False)

    (store,) = records_of(output, "store")
    assert store["settings"]["timezone"] == "America/Chicago"
    assert not {"smtp_password", "smtp_username", "api_key"} & set(store["settings"])
    assert store["settings"]["integrations"] == [{"name": "Shopify", "shop": "example-outfitters"}]
    assert LEAK_MARK not in json.dumps(store)


def _store_with_secrets_everywhere() -> HttpResponse:
    """The template plus secrets as QA found them: outside `settings`, named by a sibling field, in a URL."""
    body = find_template("store", __file__)
    body["store"]["integrations"] = {
        "shopify": {"access_token": "shopify-token-must-not-leak", "shop": "example-outfitters"},
        "mailer": {"smtp_password": "mailer-password-must-not-leak"},
    }
    body["store"]["settings"].update(
        {
            "ftp_passphrase": "ftp-passphrase-must-not-leak",
            "sftp_pw": "sftp-pw-must-not-leak",
            "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/webhook-must-not-leak",
            "custom_fields": [{"name": "stripe_api_key", "value": "sk-must-not-leak"}, {"name": "gift_wrap", "value": "yes"}],
            "export_url": "https://user:url-password-must-not-leak@ftp.example.com/orders",
            "store_country": "US",
            "orders_per_page": "50",
            "date_format": "m/d/Y",
            "keyword_search": "1",
            "monkey": "banana",
            "folder_map": {"1": "New", "2": "Prepared"},
        }
    )
    return HttpResponse(json.dumps(body).replace("/", "\\/"), 200)


def test_given_secrets_outside_settings_in_pairs_and_in_urls_when_the_store_is_read_then_none_reaches_a_record_or_log(
    debug_log: io.StringIO,
) -> None:
    output = _read_store_and_folders(_store_with_secrets_everywhere(), _store_with_secrets_everywhere())

    (store,) = records_of(output, "store")
    assert store["integrations"] == {"shopify": {"shop": "example-outfitters"}, "mailer": {}}
    settings = store["settings"]
    assert settings["custom_fields"] == [{"name": "stripe_api_key"}, {"name": "gift_wrap", "value": "yes"}]
    assert settings["export_url"] == "https://user@ftp.example.com/orders"
    assert not {"ftp_passphrase", "sftp_pw", "slack_webhook_url"} & set(settings)
    ordinary = {"timezone", "store_country", "orders_per_page", "date_format", "keyword_search", "monkey", "folder_map"}
    assert {name: settings[name] for name in ordinary} == {
        "timezone": "America/Chicago",
        "store_country": "US",
        "orders_per_page": "50",
        "date_format": "m/d/Y",
        "keyword_search": "1",
        "monkey": "banana",
        "folder_map": {"1": "New", "2": "Prepared"},
    }
    assert LEAK_MARK not in every_message_text(output)
    assert "Example Outfitters" in debug_log.getvalue() and LEAK_MARK not in debug_log.getvalue()


def test_given_the_connectors_own_api_key_under_a_plain_name_when_the_store_is_read_then_it_is_not_in_the_record() -> None:
    from .config import API_KEY

    body = {
        "status": "success",
        "store": {
            "id": "4471",
            "name": "Shop",
            "settings": {
                "legacy_integration": API_KEY,
                "notes": [f"key {API_KEY} for the old app", "keep me"],
                "timezone": "UTC",
            },
        },
    }
    output = _read_store_and_folders(HttpResponse(json.dumps(body), 200), debug=False)

    (row,) = records_of(output, "store")
    assert row["settings"] == {"notes": ["keep me"], "timezone": "UTC"}
    assert API_KEY not in every_message_text(output)
