"""Builds the `HttpRequest`s the connector is expected to send, for `HttpMocker`.

`HttpMocker` compares query parameters exactly, so an orders request states its whole query:
`OrderDeskRequestBuilder.orders().with_window(start, end).with_limit(100).with_offset(200).build()`.
Window bounds are Order Desk's `YYYY-MM-DD HH:MM:SS` (UTC, both ends inclusive).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from airbyte_cdk.test.mock_http import HttpRequest
from airbyte_cdk.test.mock_http.request import ANY_QUERY_PARAMS

from .config import API_KEY, DEFAULT_API_URL, STORE_ID

DEFAULT_LIMIT = 500


class OrderDeskRequestBuilder:
    @classmethod
    def orders(cls, api_url: str = DEFAULT_API_URL) -> OrderDeskRequestBuilder:
        return cls(api_url, "orders", {"limit": DEFAULT_LIMIT, "order_by": "date_updated", "order": "asc"})

    @classmethod
    def sort_probe(cls, start: str, end: str, api_url: str = DEFAULT_API_URL) -> OrderDeskRequestBuilder:
        """The connector's once-per-sync check that `order_by` is honoured, sent after its first full page: the
        same window sorted by date_updated descending, limit 1 (`mock_sort_probe` registers an answer)."""
        return cls.orders(api_url).with_window(start, end).with_limit(1).sorted_descending_by("date_updated")

    @classmethod
    def test_endpoint(cls, api_url: str = DEFAULT_API_URL) -> OrderDeskRequestBuilder:
        """`GET /test`: the credentials check and Order Desk's clock."""
        return cls(api_url, "test", {})

    @classmethod
    def store(cls, api_url: str = DEFAULT_API_URL) -> OrderDeskRequestBuilder:
        """`GET /store`: the store, its settings and its folders."""
        return cls(api_url, "store", {})

    def __init__(self, api_url: str, resource: str, query_params: Dict[str, Any]) -> None:
        self._api_url = api_url.rstrip("/")
        self._resource = resource
        self._query_params: Dict[str, Any] = dict(query_params)
        self._any_query_params = False
        self._headers: Dict[str, str] = {"ORDERDESK-STORE-ID": STORE_ID, "ORDERDESK-API-KEY": API_KEY}

    def with_window(self, start: str, end: str) -> OrderDeskRequestBuilder:
        """`modified_start_date` / `modified_end_date`: orders whose date_updated is in [start, end]."""
        self._query_params["modified_start_date"] = start
        self._query_params["modified_end_date"] = end
        return self

    def with_limit(self, limit: int) -> OrderDeskRequestBuilder:
        self._query_params["limit"] = limit
        return self

    def with_offset(self, offset: int) -> OrderDeskRequestBuilder:
        """An offset of 0 is Order Desk's default, and is then left out of the query."""
        if offset:
            self._query_params["offset"] = offset
        else:
            self._query_params.pop("offset", None)
        return self

    def sorted_by(self, field: str) -> OrderDeskRequestBuilder:
        """`order_by=<field>&order=asc` (`id` when the connector pages one bulk second by offset)."""
        self._query_params["order_by"] = field
        self._query_params["order"] = "asc"
        return self

    def sorted_descending_by(self, field: str) -> OrderDeskRequestBuilder:
        """`order_by=<field>&order=desc` (the sort probe)."""
        self._query_params["order_by"] = field
        self._query_params["order"] = "desc"
        return self

    def unsorted(self) -> OrderDeskRequestBuilder:
        """No `order_by`/`order` (the connector's window mode)."""
        self._query_params.pop("order_by", None)
        self._query_params.pop("order", None)
        return self

    def with_folder_ids(self, folder_ids: Iterable[int]) -> OrderDeskRequestBuilder:
        self._query_params["folder_id"] = ",".join(str(folder) for folder in folder_ids)
        return self

    def with_credentials(self, store_id: str, api_key: str) -> OrderDeskRequestBuilder:
        self._headers = {"ORDERDESK-STORE-ID": store_id, "ORDERDESK-API-KEY": api_key}
        return self

    def with_header(self, name: str, value: str) -> OrderDeskRequestBuilder:
        self._headers[name] = value
        return self

    def with_any_query_params(self) -> OrderDeskRequestBuilder:
        self._any_query_params = True
        return self

    def build(self) -> HttpRequest:
        query_params: Optional[Any]
        if self._any_query_params:
            query_params = ANY_QUERY_PARAMS
        else:
            query_params = {key: str(value) for key, value in self._query_params.items()} or None
        return HttpRequest(
            url=f"{self._api_url}/{self._resource}",
            query_params=query_params,
            headers=dict(self._headers),
        )
