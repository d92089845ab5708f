"""Date formats of the Order Desk API.

Stored dates are UTC `YYYY-MM-DD HH:MM:SS` strings without a zone suffix, so
they sort and compare correctly as plain strings; the sandbox relies on that
for its indexes and date filters.
"""

import re
import time
from datetime import datetime, timedelta, timezone
from functools import cache

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"

# Values the date filters accept: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, and ISO
# `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (clients send `isoformat()` and JS
# `toISOString()` strings).
_QUERY_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def format_datetime(moment: datetime) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS` of an aware or naive-UTC datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(DATETIME_FORMAT)


def format_epoch(seconds: float) -> str:
    """`YYYY-MM-DD HH:MM:SS` of a Unix time; the generator formats millions of these."""
    day, second_of_day = divmod(int(seconds), 86_400)
    hour, second_of_hour = divmod(second_of_day, 3600)
    minute, second = divmod(second_of_hour, 60)
    return f"{_day_text(day)} {hour:02d}:{minute:02d}:{second:02d}"


@cache
def _day_text(day_number: int) -> str:
    return time.strftime(DATE_FORMAT, time.gmtime(day_number * 86_400))


def format_epoch_date(seconds: float) -> str:
    """`YYYY-MM-DD` of a Unix time (the API's date-only `date_shipped`)."""
    return _day_text(int(seconds) // 86_400)


def parse_stored_datetime(text: str) -> datetime:
    """Aware UTC datetime of a stored `YYYY-MM-DD HH:MM:SS` value."""
    return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=timezone.utc)


def normalize_query_datetime(text: str) -> str:
    """Turn a date filter value into the stored format (UTC), for string comparison.

    A date alone means midnight. Fractions of a second are dropped. An explicit
    offset is converted to UTC. Raises ValueError for anything else.
    """
    match = _QUERY_DATE.match(text.strip())
    if not match:
        raise ValueError(f"unrecognised date {text!r}")
    year, month, day, hour, minute, second, zone = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= sign * offset
    return moment.strftime(DATETIME_FORMAT)
