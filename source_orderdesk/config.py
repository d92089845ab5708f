"""The connector's configuration, parsed once and checked with messages a store owner can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlparse

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

DEFAULT_API_URL = "https://app.orderdesk.me/api/v2"
# Order Desk opened in 2013; an earlier default start keeps "every order" while still sending the
# bounded date range that Order Desk's API etiquette asks for.
DEFAULT_START_DATE = datetime(2000, 1, 1, tzinfo=timezone.utc)
DEFAULT_LOOKBACK_MINUTES = 10
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 500

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class ConfigError(AirbyteTracedException):
    """A configuration problem the user must fix; reported as a config_error, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)


@dataclass(frozen=True)
class OrderDeskConfig:
    store_id: str
    api_key: str
    start_date: datetime
    lookback: timedelta
    page_size: int
    folder_ids: tuple[int, ...]
    api_url: str

    @property
    def url_base(self) -> str:
        return self.api_url.rstrip("/") + "/"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], now: datetime | None = None) -> OrderDeskConfig:
        now = now or datetime.now(timezone.utc)
        store_id = _required_text(config, "store_id", "Store ID")
        if not store_id.isdigit():
            raise ConfigError(
                f"The Store ID '{store_id}' is not a number. Copy the numeric Store ID from Order Desk: Store Settings, API tab."
            )
        api_key = _required_text(config, "api_key", "API Key")
        return cls(
            store_id=store_id,
            api_key=api_key,
            start_date=_parse_start_date(config.get("start_date"), now),
            lookback=timedelta(minutes=_integer(config, "lookback_window_minutes", DEFAULT_LOOKBACK_MINUTES, 0, 10080)),
            page_size=_integer(config, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            folder_ids=_folder_ids(config.get("folder_ids")),
            api_url=_api_url(config.get("api_url")),
        )


def _required_text(config: Mapping[str, Any], key: str, title: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"The {title} is missing. Find it in Order Desk: Store Settings, API tab.")
    return value.strip()


def _parse_start_date(value: Any, now: datetime) -> datetime:
    if value in (None, ""):
        return DEFAULT_START_DATE
    text = str(value).strip()
    if _DATE_ONLY.match(text):
        text += "T00:00:00Z"
    if not _DATE_TIME_UTC.match(text):
        raise ConfigError(
            f"The Start Date '{value}' is not a valid date. Use YYYY-MM-DD (for example 2024-01-31) "
            "or YYYY-MM-DDTHH:MM:SSZ in UTC."
        )
    try:
        start = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ConfigError(f"The Start Date '{value}' is not a real calendar date. Use YYYY-MM-DD, e.g. 2024-01-31.") from None
    if start > now:
        raise ConfigError(
            f"The Start Date {text} is in the future, so no order could be replicated. "
            "Choose a date in the past, or leave it empty to replicate every order."
        )
    return start


def _integer(config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"'{key}' must be a whole number from {low} to {high}; got {value!r}.")
    return value


def _folder_ids(value: Any) -> tuple[int, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise ConfigError("'folder_ids' must be a list of numeric Order Desk folder ids, e.g. [31201, 31202].")
    ids = []
    for item in value:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit():
            raise ConfigError(f"Folder id {item!r} is not a number. The folders stream lists your folders' ids.")
        ids.append(int(text))
    return tuple(dict.fromkeys(ids))


def _api_url(value: Any) -> str:
    if value in (None, ""):
        return DEFAULT_API_URL
    url = str(value).strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"The API URL '{url}' is not an http(s) URL. Leave it empty to use {DEFAULT_API_URL}.")
    return url
