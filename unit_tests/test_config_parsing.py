"""`OrderDeskConfig.from_mapping`: defaults, accepted forms, and the messages of the connector's own checks;
and the configs that `SourceOrderdesk.configure` hands to the CDK's spec check."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest
from airbyte_cdk.models import ConnectorSpecification, FailureType
from airbyte_cdk.sources.utils.schema_helpers import check_config_against_spec_or_exit

from source_orderdesk.config import DEFAULT_API_URL, SETTING_TITLES, ConfigError, OrderDeskConfig, in_spec_types, stand_in
from source_orderdesk.source import SourceOrderdesk

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def _parse(**overrides: Any) -> OrderDeskConfig:
    config: Dict[str, Any] = {"store_id": "4471", "api_key": "key"}
    config.update(overrides)
    return OrderDeskConfig.from_mapping(config, now=NOW)


def _error(**overrides: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        _parse(**overrides)
    assert raised.value.failure_type == FailureType.config_error
    return raised.value


def test_given_only_credentials_when_parsing_then_every_other_setting_has_its_default() -> None:
    config = _parse()

    assert config.start_date == datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert config.lookback == timedelta(minutes=10)
    assert config.page_size == 500
    assert config.folder_ids == ()
    assert config.api_url == DEFAULT_API_URL
    assert config.url_base == DEFAULT_API_URL + "/"


def test_given_a_date_only_start_date_when_parsing_then_it_is_midnight_utc() -> None:
    assert _parse(start_date="2024-01-31").start_date == datetime(2024, 1, 31, tzinfo=timezone.utc)


def test_given_a_utc_date_time_start_date_when_parsing_then_it_is_kept_to_the_second() -> None:
    assert _parse(start_date="2024-01-31T06:07:08Z").start_date == datetime(2024, 1, 31, 6, 7, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", [None, ""])
def test_given_no_start_date_when_parsing_then_every_order_is_replicated(value: Any) -> None:
    assert _parse(start_date=value).start_date.year == 2000


@pytest.mark.parametrize("value", ["2024/01/31", "31-01-2024", "2024-01-31T06:07:08+02:00", "yesterday", "2024-01-31 06:07:08"])
def test_given_a_malformed_start_date_when_parsing_then_the_message_shows_the_accepted_forms(value: str) -> None:
    message = _error(start_date=value).message

    assert "Start Date" in message and value in message and "YYYY-MM-DD" in message


def test_given_an_impossible_calendar_date_when_parsing_then_the_message_says_so() -> None:
    assert "not a real calendar date" in _error(start_date="2023-02-29").message


def test_given_a_start_date_after_now_when_parsing_then_the_message_says_it_is_in_the_future() -> None:
    assert "in the future" in _error(start_date="2024-06-01T12:00:01Z").message
    assert _parse(start_date="2024-06-01T12:00:00Z").start_date == NOW


@pytest.mark.parametrize("store_id", ["abc", "44 71", "-4471"])
def test_given_a_store_id_that_is_not_digits_when_parsing_then_the_message_names_the_store_id(store_id: str) -> None:
    assert "Store ID" in _error(store_id=store_id).message


@pytest.mark.parametrize("store_id", ["\uff14\uff14\uff17\uff11", "\u0664\u0664\u0667\u0661"])  # full-width, Arabic-Indic
def test_given_a_store_id_of_non_ascii_digits_when_parsing_then_it_is_refused(store_id: str) -> None:
    assert "Store ID" in _error(store_id=store_id).message


def test_given_the_api_key_in_the_store_id_field_when_parsing_then_the_message_does_not_show_it() -> None:
    message = _error(store_id="relSECRET-key-pasted-in-the-wrong-field", api_key="4471").message

    assert "swapped" in message and "relSECRET" not in message


@pytest.mark.parametrize(
    "api_key",
    ["SECRET\u200b1", "SECRET\n1", 'SECRET"1', "SECRET'1", "SECRET\\1", "SECRET\u00e91", "SECRET 1"],
    ids=["zero-width space", "newline", "double quote", "single quote", "backslash", "accent", "inner space"],
)
def test_given_an_api_key_with_a_character_no_key_has_when_parsing_then_refused_without_showing_it(api_key: str) -> None:
    message = _error(api_key=api_key).message

    assert message.startswith("The API Key (api_key) holds a character that no Order Desk API key has")
    assert "SECRET" not in message


def test_given_an_api_key_of_letters_digits_and_punctuation_when_parsing_then_it_is_kept() -> None:
    assert _parse(api_key="Ab3-_.~+/=!").api_key == "Ab3-_.~+/=!"


@pytest.mark.parametrize("value", ["0024-01-01", "1999-12-31T23:59:59Z"])
def test_given_a_start_date_before_2000_when_parsing_then_the_message_asks_about_the_year(value: str) -> None:
    message = _error(start_date=value).message

    assert "before 2000" in message and "mistyped" in message


def test_given_an_api_url_with_a_port_out_of_range_when_parsing_then_the_message_names_the_api_url() -> None:
    assert "no valid port" in _error(api_url="http://127.0.0.1:99999/api/v2").message


def test_given_credentials_with_surrounding_spaces_when_parsing_then_they_are_trimmed() -> None:
    config = _parse(store_id=" 4471 ", api_key="  key \n")

    assert (config.store_id, config.api_key) == ("4471", "key")


@pytest.mark.parametrize("field, title", [("store_id", "Store ID"), ("api_key", "API Key")])
@pytest.mark.parametrize("value", [None, "", "   ", 4471])
def test_given_a_missing_credential_when_parsing_then_the_message_names_it(field: str, title: str, value: Any) -> None:
    assert title in _error(**{field: value}).message


@pytest.mark.parametrize("page_size", [0, 501, -1, 2.5, "100", True])
def test_given_a_page_size_out_of_range_or_not_a_whole_number_when_parsing_then_the_message_gives_the_range(
    page_size: Any,
) -> None:
    message = _error(page_size=page_size).message

    assert "page_size" in message and "1 to 500" in message


@pytest.mark.parametrize("page_size", [1, 250, 500])
def test_given_a_page_size_in_range_when_parsing_then_it_is_used(page_size: int) -> None:
    assert _parse(page_size=page_size).page_size == page_size


@pytest.mark.parametrize("minutes, expected", [(0, timedelta(0)), (1440, timedelta(days=1)), (10080, timedelta(days=7))])
def test_given_a_lookback_in_range_when_parsing_then_it_is_a_timedelta(minutes: int, expected: timedelta) -> None:
    assert _parse(lookback_window_minutes=minutes).lookback == expected


@pytest.mark.parametrize("minutes", [-1, 10081, "10"])
def test_given_a_lookback_out_of_range_when_parsing_then_the_message_gives_the_range(minutes: Any) -> None:
    assert "lookback_window_minutes" in _error(lookback_window_minutes=minutes).message


def test_given_folder_ids_as_numbers_or_digit_strings_when_parsing_then_they_are_ints_without_duplicates_in_order() -> None:
    assert _parse(folder_ids=[31203, "31201", 31203, " 31202 "]).folder_ids == (31203, 31201, 31202)


@pytest.mark.parametrize("folder_ids", [["Shipped"], [True], [1.5], "31201", {"id": 1}])
def test_given_bad_folder_ids_when_parsing_then_the_message_asks_for_numeric_ids(folder_ids: Any) -> None:
    message = _error(folder_ids=folder_ids).message

    assert "older" in message and ("number" in message or "numeric" in message)


@pytest.mark.parametrize("api_url", ["ftp://orderdesk.example.com", "app.orderdesk.me/api/v2", "https://", "not a url"])
def test_given_an_api_url_that_is_not_http_when_parsing_then_the_message_names_the_api_url(api_url: str) -> None:
    message = _error(api_url=api_url).message

    assert "API URL" in message and DEFAULT_API_URL in message


@pytest.mark.parametrize(
    "api_url", ["https://app.orderdesk.me]/api/v2", "http://[::1/api/v2", "http://[::1", "http://[zz]/api/v2"]
)
def test_given_an_api_url_that_urllib_cannot_split_when_parsing_then_a_config_error_names_it(api_url: str) -> None:
    assert _error(api_url=api_url).message.startswith(f"The API URL (api_url) '{api_url}' is not an http(s) URL.")


@pytest.mark.parametrize(
    "api_url",
    [
        "http://user:SuperSecretPw@127.0.0.1:1/api/v2",
        "https://SuperSecretPw@sandbox.example.com/api/v2",
        "http://user:SuperSecretPw@[::1/api/v2",  # not even parseable: still not quoted
        "user:SuperSecretPw@127.0.0.1:18471/api/v2",
        "http:/user:SuperSecretPw@127.0.0.1/api",
    ],
)
def test_given_an_api_url_with_credentials_when_parsing_then_it_is_refused_without_repeating_them(api_url: str) -> None:
    message = _error(api_url=api_url).message

    assert "must not hold a user name or password" in message
    assert "SuperSecretPw" not in message


@pytest.mark.parametrize(
    "api_url",
    [
        "http://127.0.0.1:1/api/v2?key=SuperSecretPw",
        "https://sandbox.example.com/api/v2#SuperSecretPw",
        "http://[::1/api/v2?key=SuperSecretPw",
    ],
)
def test_given_an_api_url_with_a_query_or_fragment_when_parsing_then_it_is_refused_without_repeating_it(api_url: str) -> None:
    message = _error(api_url=api_url).message

    assert "must not have a query" in message
    assert "SuperSecretPw" not in message


def test_given_an_api_url_with_a_trailing_slash_when_parsing_then_the_base_has_exactly_one() -> None:
    assert _parse(api_url="https://sandbox.example.com/api/v2/").url_base == "https://sandbox.example.com/api/v2/"


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("page_size", "lots", "The Page Size (page_size) must be a whole number from 1 to 500; got 'lots'."),
        ("lookback_window_minutes", [10], "The Lookback Window (lookback_window_minutes) must be a whole number of minutes"),
        ("start_date", 20240131, 'The Start Date (start_date) must be a date in quotes, e.g. "2024-01-31"; got 20240131.'),
        ("store_id", 4471, 'The Store ID (store_id) must be text in quotes, e.g. "4471".'),
        ("api_url", 8080, "The API URL (api_url) must be a URL in quotes; got 8080."),
        ("folder_ids", "31201", "The Folder IDs (folder_ids) must be a list of numeric Order Desk folder ids"),
        ("folder_ids", [None], "The Folder IDs (folder_ids) must be numeric folder ids, e.g. [31201, 31202], but None is not"),
    ],
)
def test_given_a_value_of_the_wrong_json_type_when_parsing_then_the_message_names_the_setting_and_what_it_expects(
    key: str, value: Any, expected: str
) -> None:
    assert _error(**{key: value}).message.startswith(expected)


@pytest.mark.parametrize("key", ["page_size", "lookback_window_minutes"])
def test_given_a_whole_number_in_quotes_when_parsing_then_the_message_says_to_drop_the_quotes(key: str) -> None:
    assert _error(**{key: "60"}).message.endswith("Write the number without quotes.")


def test_given_an_api_key_of_the_wrong_type_when_parsing_then_the_message_does_not_show_it() -> None:
    message = _error(api_key=73914025).message

    assert "API Key (api_key)" in message and "73914025" not in message


@pytest.mark.parametrize("folder_ids", [["²"], ["-1"], [" "], ["31201.0"]])
def test_given_folder_id_strings_that_are_not_plain_digits_when_parsing_then_they_are_refused(folder_ids: Any) -> None:
    assert "is not a folder id (a whole number, without a sign)" in _error(folder_ids=folder_ids).message


def _spec() -> ConnectorSpecification:
    return SourceOrderdesk().spec(logging.getLogger("airbyte"))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"folder_ids": ["31201", " 31202 ", 31203]},
        {"folder_ids": ""},
        {"page_size": None, "lookback_window_minutes": None, "folder_ids": None, "start_date": None, "api_url": None},
        {"start_date": "2024-01-31", "page_size": 100, "lookback_window_minutes": 0, "api_url": "http://localhost:8000/api/v2"},
        {"start_date": "2024-01-31T06:07:08Z"},
        {"start_date": " 2024-01-31 "},
        {"start_date": ""},
        {"start_date": "  "},
    ],
)
def test_given_a_config_the_connector_accepts_when_put_in_spec_types_then_the_cdks_spec_check_passes(
    overrides: Dict[str, Any],
) -> None:
    config = {"store_id": "4471", "api_key": "key", **overrides}
    OrderDeskConfig.from_mapping(config, now=NOW)

    typed = in_spec_types(config)

    check_config_against_spec_or_exit(typed, _spec())  # raises on a violation
    assert OrderDeskConfig.from_mapping(typed, now=NOW) == OrderDeskConfig.from_mapping(config, now=NOW)


def test_given_folder_ids_as_numeric_strings_when_put_in_spec_types_then_they_are_numbers() -> None:
    assert in_spec_types({"folder_ids": ["31201", " 31202 ", 31201]})["folder_ids"] == [31201, 31202]


@pytest.mark.parametrize("api_key", ["key", 73914025, None])
def test_given_a_refused_config_when_standing_in_for_it_then_the_cdks_spec_check_passes_and_a_text_key_is_kept(
    api_key: Any,
) -> None:
    stand_in_config = stand_in({"store_id": 4471, "api_key": api_key, "page_size": "lots"})

    check_config_against_spec_or_exit(stand_in_config, _spec())
    assert stand_in_config["api_key"] == (api_key if isinstance(api_key, str) else "")


def test_given_the_spec_when_naming_settings_then_each_message_title_is_the_forms_title() -> None:
    properties = _spec().connectionSpecification["properties"]

    assert set(properties) == set(SETTING_TITLES)
    assert all(properties[key]["title"].startswith(title) for key, title in SETTING_TITLES.items())


def test_given_an_api_url_of_spaces_when_parsing_then_the_default_is_used() -> None:
    assert _parse(api_url="   ").api_url == DEFAULT_API_URL


@pytest.mark.parametrize("value", ["2024/01/31", "2024-01-31T06:07:08+02:00", "2024-01-31T06:07:08.123Z", "yesterday"])
def test_given_a_start_date_the_connector_refuses_when_checked_against_the_spec_then_the_form_refuses_it_too(
    value: str,
) -> None:
    # The Airbyte form checks spec.yaml's pattern as the user types; it must not let through what check refuses.
    _error(start_date=value)
    with pytest.raises(Exception, match="start_date|does not match"):
        check_config_against_spec_or_exit({"store_id": "4471", "api_key": "key", "start_date": value}, _spec())
