"""A fluent builder for the connector's config, with values that are easy to spot in assertions."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

STORE_ID = "4471"
# Distinctive, so that a leak is found by a plain substring search over everything the connector emits.
API_KEY = "od-key-S3CR3T-7f9c2b41e8"
START_DATE = "2024-01-01"
DEFAULT_API_URL = "https://app.orderdesk.me/api/v2"


class ConfigBuilder:
    def __init__(self) -> None:
        self._config: Dict[str, Any] = {
            "store_id": STORE_ID,
            "api_key": API_KEY,
            "start_date": START_DATE,
        }

    def with_store_id(self, store_id: Any) -> ConfigBuilder:
        self._config["store_id"] = store_id
        return self

    def with_api_key(self, api_key: Any) -> ConfigBuilder:
        self._config["api_key"] = api_key
        return self

    def with_start_date(self, start_date: Any) -> ConfigBuilder:
        self._config["start_date"] = start_date
        return self

    def with_lookback_window_minutes(self, minutes: Any) -> ConfigBuilder:
        self._config["lookback_window_minutes"] = minutes
        return self

    def with_page_size(self, page_size: Any) -> ConfigBuilder:
        self._config["page_size"] = page_size
        return self

    def with_folder_ids(self, folder_ids: List[Any] | Any) -> ConfigBuilder:
        self._config["folder_ids"] = folder_ids
        return self

    def with_api_url(self, api_url: Any) -> ConfigBuilder:
        self._config["api_url"] = api_url
        return self

    def without(self, key: str) -> ConfigBuilder:
        self._config.pop(key, None)
        return self

    def build(self) -> Dict[str, Any]:
        return copy.deepcopy(self._config)
