"""`redaction.py` on its own: which names are secrets, and how a logged response body is masked."""

from __future__ import annotations

import json
import logging

import pytest

from source_orderdesk.redaction import MaskSecretsInLoggedBodies, masked, masked_body, without_secrets

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


def test_given_passphrase_pw_webhook_plural_and_numbered_names_when_removing_secrets_then_they_go_and_look_alikes_stay() -> None:
    settings = {
        "ftp_passphrase": "x",
        "sftp_pw": "x",
        "sftpPw": "x",
        "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/x",  # anyone holding it can post as the store
        "api_keys": ["x"],
        "password2": "x",
        "keyword_search": "1",
        "monkey": "banana",
        "timezone": "UTC",
        "store_country": "US",
        "orders_per_page": "50",
        "date_format": "m/d/Y",
    }

    assert without_secrets(settings) == {
        "keyword_search": "1",
        "monkey": "banana",
        "timezone": "UTC",
        "store_country": "US",
        "orders_per_page": "50",
        "date_format": "m/d/Y",
    }


def test_given_name_value_pairs_when_removing_secrets_then_a_secret_named_pair_keeps_only_its_name() -> None:
    pairs = [
        {"name": "stripe_api_key", "value": "sk_live_x", "type": "text"},
        {"name": "timezone", "value": "UTC"},
        {"key": "paypal_secret", "value": "x"},
        {"key": "currency", "value": "USD"},  # `key` names the pair here: it is kept
    ]

    assert without_secrets({"custom_settings": pairs}) == {
        "custom_settings": [
            {"name": "stripe_api_key"},
            {"name": "timezone", "value": "UTC"},
            {"key": "paypal_secret"},
            {"key": "currency", "value": "USD"},
        ]
    }


def test_given_urls_with_passwords_in_string_values_when_removing_secrets_then_only_the_passwords_go() -> None:
    settings = {
        "export_to": "https://user:pw@ftp.example.com/orders",
        "note": "upload to sftp://ops:p@ss@files.example.com:22/in, then mail ops@example.com",
        "site": "https://example.com:8443/users/@me",
    }

    assert without_secrets([settings]) == [
        {
            "export_to": "https://user@ftp.example.com/orders",
            "note": "upload to sftp://ops@files.example.com:22/in, then mail ops@example.com",
            "site": "https://example.com:8443/users/@me",
        }
    ]


def test_given_new_secret_words_pairs_and_url_passwords_when_a_body_is_masked_then_each_secret_is_masked() -> None:
    body = json.dumps(
        {
            "store": {
                "settings": {
                    "sftp_pw": SECRET,
                    "keyword_search": "1",
                    "export_to": "ftp://u:pw-must-not-leak@ftp.example.com/in",
                },
                "custom": [{"name": "stripe_api_key", "value": SECRET}, {"name": "timezone", "value": "UTC"}],
            }
        }
    ).replace("/", "\\/")

    masked = json.loads(masked_body(body))["store"]

    assert masked["settings"] == {"sftp_pw": "****", "keyword_search": "1", "export_to": "ftp://u:****@ftp.example.com/in"}
    assert masked["custom"] == [{"name": "stripe_api_key", "value": "****"}, {"name": "timezone", "value": "UTC"}]


def test_given_a_cut_off_body_with_a_secret_named_pair_when_masked_then_only_its_length_is_kept() -> None:
    body = '{"store": {"custom": [{"name": "stripe_api_key", "value": "sk_live_must-not-leak"}, {"name": "ti'

    assert masked_body(body) == f"({len(body)} characters not logged: a body that is not JSON, with secret-looking keys)"


def test_given_a_cut_off_body_with_a_url_password_when_masked_then_the_password_is_masked_and_the_rest_kept() -> None:
    body = '{"store": {"settings": {"export_to": "https:\\/\\/user:pw-must-not-leak@ftp.example.com\\/orders", "ti'

    assert masked_body(body) == body.replace("pw-must-not-leak", "****")


@pytest.mark.parametrize(
    "name",
    ["smtppassword", "ftppassword", "apitoken", "accesstoken", "secretkey", "privatekey", "SMTPPASSWORD", "shipstationApikey"],
)
def test_given_a_secret_name_written_as_one_word_when_removing_secrets_then_it_is_removed(name: str) -> None:
    assert without_secrets({name: SECRET, "timezone": "UTC"}) == {"timezone": "UTC"}


@pytest.mark.parametrize("name", ["keyword_search", "monkey_mode", "tokenized_titles", "passport_required", "company_name"])
def test_given_a_harmless_name_that_contains_a_short_secret_word_when_removing_secrets_then_it_is_kept(name: str) -> None:
    assert without_secrets({name: "x"}) == {name: "x"}


def test_given_secrets_written_inside_a_settings_text_when_removing_secrets_then_they_are_gone_and_the_text_kept() -> None:
    settings = {
        "integration_json": json.dumps({"password": SECRET, "region": "us"}),
        "callback": f"https://x.example/hook?shop=4471&token={SECRET}",
        "pairs": [["password", SECRET], ["region", "us"]],
    }

    cleaned = without_secrets(settings)

    assert json.loads(cleaned["integration_json"]) == {"region": "us"}
    assert cleaned["callback"] == "https://x.example/hook?shop=4471&token=****"
    assert cleaned["pairs"] == [["password"], ["region", "us"]]
    assert "must-not-leak" not in json.dumps(masked(settings))


@pytest.mark.parametrize("name", ["bearer", "webhook_hmac", "password_salt", "pin"])
def test_given_more_secret_words_when_removing_secrets_then_they_are_removed(name: str) -> None:
    assert without_secrets({name: SECRET}) == {}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("password=LEAK&user=bob", "password=****&user=bob"),
        ("https://x.example/cb#access_token=LEAK", "https://x.example/cb#access_token=****"),
        ("https://x.example/?a=1&amp;token=LEAK", "https://x.example/?a=1&amp;token=****"),
        ("https://x.example/?api%5Fkey=LEAK", "https://x.example/?api%5Fkey=****"),
        ("//bob:LEAK@ftp.example.com/", "//bob@ftp.example.com/"),
    ],
)
def test_given_a_secret_in_a_query_fragment_or_scheme_relative_url_when_removing_secrets_then_only_it_goes(
    text: str, kept: str
) -> None:
    assert without_secrets({"setting": text}) == {"setting": kept}


def test_given_json_text_with_a_byte_order_mark_or_a_pair_named_by_label_when_removing_secrets_then_the_secret_goes() -> None:
    cleaned = without_secrets(
        {"doc": '\ufeff{"password": "LEAK", "region": "us"}', "pair": {"label": "API key", "value": "LEAK"}}
    )

    assert json.loads(cleaned["doc"]) == {"region": "us"}
    assert cleaned["pair"] == {"label": "API key"}


@pytest.mark.parametrize("name", ["passcode", "jwt", "pswd", "access_tkn", "Passwort", "sas_sig"])
def test_given_yet_more_secret_words_when_removing_secrets_then_they_are_removed(name: str) -> None:
    assert without_secrets({name: SECRET}) == {}
