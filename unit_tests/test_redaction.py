"""`redaction.py` on its own: which names are secrets, and how a logged response body is masked."""

from __future__ import annotations

import json
import logging

import pytest

from source_orderdesk.redaction import MaskSecretsInLoggedBodies, masked_body, without_secrets

SECRET = 'pa/ss"word-must-not-leak'
STORE_BODY = json.dumps(
    {"status": "success", "store": {"name": "Shop", "settings": {"smtp_password": SECRET, "timezone": "UTC"}}}
).replace("/", "\\/")  # as PHP's json_encode writes it


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("airbyte", logging.INFO, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def test_given_a_json_body_with_an_escaped_secret_when_masked_then_the_secret_is_gone_and_the_rest_is_kept() -> None:
    masked = json.loads(masked_body(STORE_BODY))

    assert masked["store"]["settings"] == {"smtp_password": "****", "timezone": "UTC"}
    assert "must-not-leak" not in masked_body(STORE_BODY)


@pytest.mark.parametrize("body", [STORE_BODY[:-30], STORE_BODY[:-30].encode()])
def test_given_a_cut_off_body_with_secret_keys_when_masked_then_only_its_length_is_kept(body: str | bytes) -> None:
    assert (
        masked_body(body) == f"({len(STORE_BODY) - 30} characters not logged: a body that is not JSON, with secret-looking keys)"
    )


def test_given_a_body_that_is_not_json_and_holds_no_secret_key_when_masked_then_it_is_kept_as_is() -> None:
    assert masked_body("<html>Down for maintenance</html>") == "<html>Down for maintenance</html>"


def test_given_the_cdks_debug_record_of_a_response_when_filtered_then_its_body_is_masked() -> None:
    record = _record("Receiving response", body=STORE_BODY, status=200)

    assert MaskSecretsInLoggedBodies().filter(record)

    assert "must-not-leak" not in record.body and '"smtp_password": "****"' in record.body


def test_given_the_cdks_retry_record_of_a_cut_off_answer_when_filtered_then_its_content_is_not_logged() -> None:
    record = _record(f"Status code: 200, Response Content: {STORE_BODY[:-30].encode()!r}")

    MaskSecretsInLoggedBodies().filter(record)

    assert record.getMessage().startswith("Status code: 200, Response Content: (")
    assert "must-not-leak" not in record.getMessage()


def test_given_any_other_record_when_filtered_then_it_is_unchanged() -> None:
    record = _record("Read 3 records from folders stream")

    assert MaskSecretsInLoggedBodies().filter(record)
    assert record.getMessage() == "Read 3 records from folders stream"


def test_given_nested_settings_when_removing_secrets_then_secret_names_go_at_any_depth() -> None:
    settings = {"smtp_password": "x", "integrations": [{"name": "Shopify", "oauthToken": "y"}], "timezone": "UTC"}

    assert without_secrets(settings) == {"integrations": [{"name": "Shopify"}], "timezone": "UTC"}
