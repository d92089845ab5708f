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

# Messages name a setting by its title in the Airbyte form (spec.yaml) and by its key in a config file.
SETTING_TITLES = {
    "store_id": "Store ID",
    "api_key": "API Key",
    "start_date": "Start Date",
    "lookback_window_minutes": "Lookback Window",
    "page_size": "Page Size",
    "folder_ids": "Folder IDs",
    "api_url": "API URL",
}

# Printable ASCII without spaces, quotes or backslashes. Keys are sent as an HTTP header, which takes no
# other characters, and only these are written the same in every log and message, where the CDK masks them
# (an escaped form, such as JSON's "\u200b", would not be masked). Order Desk's keys are letters and digits.
_API_KEY = re.compile(r"^[!#-&(-\[\]-~]+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class ConfigError(AirbyteTracedException):
    """A configuration problem the user must fix; reported as a config_error, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)

    def masking(self, *secrets: Any) -> ConfigError:
        """This error with each secret (a string) in its message replaced by ****."""
        message = self.message
        for secret in secrets:
            if isinstance(secret, str) and secret.strip():
                message = message.replace(secret.strip(), "****")
        return self if message == self.message else ConfigError(message)


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
        """Every check of every setting, the JSON type included: a value of the wrong type gets a message that
        names the setting, here rather than in the CDK's spec check (see `SourceOrderdesk.configure`)."""
        now = now or datetime.now(timezone.utc)
        store_id = _required_text(config, "store_id", example='"4471"')
        if not (store_id.isascii() and store_id.isdigit()):
            # Not echoed: a Store ID and API key pasted into each other's fields would show the key.
            raise ConfigError(
                f"The {_name('store_id')} is not a number. Copy the numeric Store ID from Order Desk: Store Settings, "
                "API tab (it is shown next to the API key; check that the two are not swapped)."
            )
        api_key = _required_text(config, "api_key")
        if not _API_KEY.match(api_key):
            raise ConfigError(
                f"The {_name('api_key')} holds a character that no Order Desk API key has: a space, a quote, or an "
                "invisible character pasted with it. Copy the key again from Order Desk: Store Settings, API tab."
            )
        return cls(
            store_id=store_id,
            api_key=api_key,
            start_date=_parse_start_date(config.get("start_date"), now),
            lookback=timedelta(
                minutes=_integer(config, "lookback_window_minutes", DEFAULT_LOOKBACK_MINUTES, 0, 10080, " of minutes")
            ),
            page_size=_integer(config, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            folder_ids=_folder_ids(config.get("folder_ids")),
            api_url=_api_url(config.get("api_url")),
        )


def _name(key: str) -> str:
    return f"{SETTING_TITLES[key]} ({key})"


def _required_text(config: Mapping[str, Any], key: str, example: str = "") -> str:
    value = config.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"The {_name(key)} is missing. Find it in Order Desk: Store Settings, API tab.")
    if not isinstance(value, str):
        # The value is not echoed: it may be the API key.
        hint = f", e.g. {example}" if example else ""
        raise ConfigError(f"The {_name(key)} must be text in quotes{hint}. Copy it from Order Desk: Store Settings, API tab.")
    return value.strip()


def _parse_start_date(value: Any, now: datetime) -> datetime:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_START_DATE
    if not isinstance(value, str):
        raise ConfigError(f'The {_name("start_date")} must be a date in quotes, e.g. "2024-01-31"; got {value!r}.')
    text = value.strip()
    if _DATE_ONLY.match(text):
        text += "T00:00:00Z"
    if not _DATE_TIME_UTC.match(text):
        raise ConfigError(
            f"The {_name('start_date')} '{value}' is not a valid date. Use YYYY-MM-DD (for example 2024-01-31) "
            "or YYYY-MM-DDTHH:MM:SSZ in UTC."
        )
    try:
        start = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ConfigError(
            f"The {_name('start_date')} '{value}' is not a real calendar date. Use YYYY-MM-DD, e.g. 2024-01-31."
        ) from None
    if start < DEFAULT_START_DATE:
        raise ConfigError(
            f"The {_name('start_date')} {text} is before 2000, earlier than any Order Desk order: is the year mistyped? "
            "Leave it empty to replicate every order."
        )
    if start > now:
        raise ConfigError(
            f"The {_name('start_date')} {text} is in the future, so no order could be replicated. "
            "Choose a date in the past, or leave it empty to replicate every order."
        )
    return start


def _integer(config: Mapping[str, Any], key: str, default: int, low: int, high: int, unit: str = "") -> int:
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        quoted_number = isinstance(value, str) and value.strip().lstrip("-").isdigit()
        hint = " Write the number without quotes." if quoted_number else ""
        raise ConfigError(f"The {_name(key)} must be a whole number{unit} from {low} to {high}; got {value!r}.{hint}")
    return value


def _folder_ids(value: Any) -> tuple[int, ...]:
    """Numbers or numeric strings: ["31201"] is what a folder id looks like in Order Desk's own pages."""
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            f"The {_name('folder_ids')} must be a list of numeric Order Desk folder ids, e.g. [31201, 31202]; got {value!r}."
        )
    ids = []
    for item in value:
        text = item.strip() if isinstance(item, str) else str(item)
        if not isinstance(item, (int, str)) or isinstance(item, bool) or not (text.isascii() and text.isdigit()):
            raise ConfigError(
                f"The {_name('folder_ids')} must be numeric folder ids, e.g. [31201, 31202], but {item!r} is not a folder id "
                "(a whole number, without a sign). "
                "The folders stream lists each folder's id."
            )
        ids.append(int(text))
    return tuple(dict.fromkeys(ids))


def _api_url(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_API_URL
    if not isinstance(value, str):
        raise ConfigError(
            f"The {_name('api_url')} must be a URL in quotes; got {value!r}. Leave it empty to use {DEFAULT_API_URL}."
        )
    url = value.strip()
    # Checked on the text, before anything quotes it: a user:password@ or a query may hold a secret, and these
    # messages are shown and logged. Order Desk takes no credentials in the URL (the Store ID and API Key go in
    # headers), and the connector appends the API's paths to this URL.
    if "@" in url:
        raise ConfigError(
            f"The {_name('api_url')} must not hold a user name or password (user:password@). "
            f"Leave it empty to use {DEFAULT_API_URL}."
        )
    if "?" in url or "#" in url:
        raise ConfigError(
            f"The {_name('api_url')} must not have a query (?…) or fragment (#…): the connector appends the API's "
            f"paths to it. Leave it empty to use {DEFAULT_API_URL}."
        )
    not_http = f"The {_name('api_url')} '{url}' is not an http(s) URL. Leave it empty to use {DEFAULT_API_URL}."
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
        hostname = parsed.hostname
    except ValueError as error:  # an unclosed IPv6 bracket, or a port out of range
        if "port" in str(error).lower():
            raise ConfigError(
                f"The {_name('api_url')} '{url}' has no valid port. Leave it empty to use {DEFAULT_API_URL}."
            ) from None
        raise ConfigError(not_http) from None
    if parsed.scheme not in ("http", "https") or not hostname:
        raise ConfigError(not_http)
    return url


def in_spec_types(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config that `from_mapping` accepted, in the JSON types of spec.yaml, for the CDK's spec check: settings
    left empty (null) are dropped, a start date loses surrounding spaces (spec.yaml's pattern has none), and folder
    ids written as numeric strings, e.g. ["31201"], become numbers. (spec.yaml keeps `integer` items, so that the
    Airbyte form offers a list of numbers.)"""
    typed = {key: value for key, value in config.items() if value is not None}
    if isinstance(typed.get("start_date"), str):
        typed["start_date"] = typed["start_date"].strip()
    if "folder_ids" in typed:
        typed["folder_ids"] = list(_folder_ids(typed["folder_ids"]))
    return typed


def stand_in(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the CDK's spec check gets in place of a config that `from_mapping` refused (the refusal is reported
    instead, see `SourceOrderdesk.configure`): it passes that check, and it keeps the API key, which the CDK
    then masks in every message."""
    api_key = config.get("api_key")
    return {"store_id": "", "api_key": api_key if isinstance(api_key, str) else ""}
