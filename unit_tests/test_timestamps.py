"""Timestamps: what counts as a date and time (Order Desk's layout and ISO 8601, nothing guessed), how they are
written (years padded, since the paging compares them as text), and MySQL's zero dates."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from source_orderdesk.config import OrderDeskConfig
from source_orderdesk.rows import FieldError, compile_plan
from source_orderdesk.streams import later_cursor, start_key
from source_orderdesk.timestamps import format_api_time, format_rfc3339, from_state_value, is_zero_date, parse_api_time

UTC = timezone.utc
DATE_TIME_COLUMN = compile_plan({"properties": {"at": {"type": ["null", "string"], "format": "date-time"}}})
DATE_COLUMN = compile_plan({"properties": {"on": {"type": ["null", "string"], "format": "date"}}})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-05 14:02:19", datetime(2024, 3, 5, 14, 2, 19, tzinfo=UTC)),
        ("2024-03-05T14:02:19Z", datetime(2024, 3, 5, 14, 2, 19, tzinfo=UTC)),
        ("2024-03-05T14:02:19.987Z", datetime(2024, 3, 5, 14, 2, 19, tzinfo=UTC)),
        ("2024-03-05T16:02:19+02:00", datetime(2024, 3, 5, 14, 2, 19, tzinfo=UTC)),
        ("2024-03-05 09:02:19-0500", datetime(2024, 3, 5, 14, 2, 19, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
    ],
)
def test_given_order_desks_layout_or_iso_8601_when_parsed_then_the_utc_moment(text: str, expected: datetime) -> None:
    assert parse_api_time(text) == expected


@pytest.mark.parametrize(
    "text", ["Tuesday", "5", "March", "10:30", "2024-12-03 10:00:00 PST", "03.12.2024", "1700000000", "8:", "2024-02-30 00:00:00"]
)
def test_given_text_that_is_not_a_full_date_when_parsed_then_it_is_refused_rather_than_guessed(text: str) -> None:
    with pytest.raises(ValueError):
        parse_api_time(text)


@pytest.mark.parametrize("text", ["Tuesday", "03.12.2024", "1700000000", "8:", "2024-12-03 10:00:00 PST"])
def test_given_such_text_in_a_date_time_or_date_column_when_converted_then_the_field_fails_instead_of_inventing_a_date(
    text: str,
) -> None:
    with pytest.raises(FieldError):
        DATE_TIME_COLUMN({"at": text})
    with pytest.raises(FieldError):
        DATE_COLUMN({"on": text})


@pytest.mark.parametrize("text", ["0000-00-00 00:00:00", "0000-00-00", "2024-00-00 00:00:00", "2024-05-00"])
def test_given_a_mysql_zero_date_when_converted_then_it_is_null(text: str) -> None:
    assert is_zero_date(text)
    assert DATE_TIME_COLUMN({"at": text}) == {"at": None}


@pytest.mark.parametrize("text", ["1700000000", "03.12.2024", "2024-05-01"])
def test_given_text_that_only_looks_like_a_zero_date_when_checked_then_it_is_not_one(text: str) -> None:
    assert not is_zero_date(text)


def test_given_a_year_before_1000_when_formatted_then_it_has_four_digits_and_sorts_before_later_years() -> None:
    early = datetime(999, 6, 1, tzinfo=UTC)

    assert format_api_time(early) == "0999-06-01 00:00:00"
    assert format_rfc3339(early) == "0999-06-01T00:00:00Z"
    assert format_api_time(early) < format_api_time(datetime(2024, 1, 1, tzinfo=UTC))


def test_given_a_saved_cursor_before_the_year_1000_when_a_later_checkpoint_comes_then_the_state_moves_forward() -> None:
    saved = "0999-06-01T00:00:00Z"

    assert from_state_value(saved) == "0999-06-01 00:00:00"
    assert later_cursor(saved, "2024-03-05 14:02:19") == "2024-03-05T14:02:19Z"
    assert later_cursor("2024-03-05T14:02:19Z", "0999-06-01 00:00:00") == "2024-03-05T14:02:19Z"


@pytest.mark.parametrize("cursor", ["0001-01-01T00:00:00Z", "0001-01-01 00:05:00", "1999-01-01T00:00:00Z"])
def test_given_a_saved_cursor_before_the_start_date_when_a_sync_starts_then_it_starts_at_the_start_date(cursor: str) -> None:
    config = OrderDeskConfig.from_mapping({"store_id": "4471", "api_key": "key", "start_date": "2024-01-01"})

    assert start_key(config, cursor) == "2024-01-01 00:00:00"


def test_given_a_saved_cursor_after_the_start_date_when_a_sync_starts_then_it_starts_a_lookback_before_it() -> None:
    config = OrderDeskConfig.from_mapping({"store_id": "4471", "api_key": "key", "lookback_window_minutes": 10})

    assert start_key(config, "2024-03-05T14:02:19Z") == "2024-03-05 13:52:19"
    assert start_key(config, "2000-01-01T00:05:00Z") == "2000-01-01 00:00:00"  # the lookback stops at the start date
