"""Order Desk's timestamps: `YYYY-MM-DD HH:MM:SS` in UTC with no zone, as sent and as filtered on."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

import pendulum

API_FORMAT = "%Y-%m-%d %H:%M:%S"
ZERO_DATES = ("0000-00-00 00:00:00", "0000-00-00")


class PayloadError(ValueError):
    """A value in Order Desk's answer that cannot be represented faithfully."""


def _is_api_layout(text: str) -> bool:
    return len(text) == 19 and text[4] == "-" and text[7] == "-" and text[10] == " " and text[13] == ":" and text[16] == ":"


# A date, optionally with a time, fraction and zone: ISO 8601 / RFC 3339 as other tools write them. Anything
# looser ("Tuesday", "03.12.2024", "10:00 PST") is refused rather than guessed at by a lenient parser.
_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?$")


def parse_api_time(value: str) -> datetime:
    """A timestamp in Order Desk's layout or an ISO 8601 form, as an aware UTC datetime (ValueError if neither)."""
    text = value.strip()
    if _is_api_layout(text):
        return datetime.strptime(text, API_FORMAT).replace(tzinfo=timezone.utc)
    if not _ISO_8601.match(text):
        raise ValueError(f"{value!r} is not a date and time")
    try:
        parsed = pendulum.parse(text, tz="UTC", strict=True)
    except TypeError:  # pendulum on some malformed times
        raise ValueError(f"{value!r} is not a date and time") from None
    if not isinstance(parsed, datetime):
        raise ValueError(f"{value!r} is not a date and time")
    return datetime.fromtimestamp(parsed.timestamp(), tz=timezone.utc).replace(microsecond=0)


def format_api_time(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC. (Not strftime: on Linux its %Y does not pad years before 1000, and these
    strings are compared as text.)"""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "seconds")


def format_rfc3339(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, as records and state carry timestamps."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat("T", "seconds") + "Z"


def api_time_key(value: Any, order: Optional[Mapping[str, Any]] = None) -> str:
    """An order's `date_updated` as a sortable `YYYY-MM-DD HH:MM:SS` UTC string (the paging key)."""
    if isinstance(value, str):
        if _is_api_layout(value):
            return value
        try:
            return format_api_time(parse_api_time(value))
        except (ValueError, TypeError, OverflowError, pendulum.parsing.exceptions.ParserError):
            pass
    order_id = order.get("id") if order else None
    raise PayloadError(
        f"Order {order_id}: its date_updated {value!r} is not a date and time, so the order cannot be placed "
        "in the incremental sync. Please report this to the connector's maintainers."
    )


def to_rfc3339(value: str) -> str:
    """`2024-03-05 14:02:19` → `2024-03-05T14:02:19Z` (the fast path); anything else via a parser.

    Raises ValueError for a date that does not exist (`2024-02-30`), which the fast path checks too.
    """
    if _is_api_layout(value):
        datetime.fromisoformat(value)  # cheap validation: a malformed date must not reach a typed column
        return f"{value[:10]}T{value[11:]}Z"
    if len(value) == 20 and value[10] == "T" and value[19] == "Z" and _is_api_layout(value[:10] + " " + value[11:19]):
        datetime.fromisoformat(value[:19])
        return value
    return format_rfc3339(parse_api_time(value))


_DATE_PART = re.compile(r"^\d{4}-\d{2}-\d{2}")


def is_zero_date(value: str) -> bool:
    """MySQL's "no date" values: `0000-00-00`, and partial ones such as `2024-00-00 00:00:00`."""
    date = value.strip()[:10]
    return bool(_DATE_PART.match(date)) and (date.startswith("0000") or date[5:7] == "00" or date[8:10] == "00")


def from_state_value(value: Any) -> Optional[str]:
    """A cursor from a saved state (RFC 3339, or Order Desk's layout) in the API's layout, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return format_api_time(parse_api_time(value))
    except (ValueError, TypeError, OverflowError, pendulum.parsing.exceptions.ParserError):
        return None
