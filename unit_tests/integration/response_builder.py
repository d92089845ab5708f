"""Order Desk responses built from the templates in `unit_tests/resource/http/response/`.

* `an_order()` is a CDK `RecordBuilder` over the realistic order of `orders.json`
  (`.with_id("7")`, `.with_cursor("2024-03-05 14:02:19")`, `.with_field(FieldPath("email"), ...)`).
* `orders_page()` builds the `/orders` envelope: `total_records`, `records_returned`, `offset`
  and `limit` are filled in from what the page holds unless set explicitly.
* `clock_response()`, `error_response()`, `status_error_response()` and `rate_limited_response()`
  cover `/test` and the failures.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from http import HTTPStatus
from typing import Any, Dict, Iterable, Mapping, Optional

from airbyte_cdk.test.mock_http import HttpResponse
from airbyte_cdk.test.mock_http.response_builder import (
    FieldPath,
    HttpResponseBuilder,
    RecordBuilder,
    create_record_builder,
    find_template,
)

SERVER_NOW = "2024-03-06 12:00:00"
_RETRY_AFTER = "X-Retry-After"
_TOKENS_REMAINING = "X-Tokens-Remaining"


@cache
def _template_text(resource: str) -> str:
    return json.dumps(find_template(resource, __file__))


def _template(resource: str) -> Dict[str, Any]:
    return json.loads(_template_text(resource))


def an_order(order_id: Optional[str] = None, date_updated: Optional[str] = None) -> RecordBuilder:
    builder = create_record_builder(
        _template("orders"), FieldPath("orders"), record_id_path=FieldPath("id"), record_cursor_path=FieldPath("date_updated")
    )
    if order_id is not None:
        builder.with_id(order_id)
    if date_updated is not None:
        builder.with_cursor(date_updated)
    return builder


def a_bare_order(order_id: str, date_updated: str) -> RecordBuilder:
    """An order with no child collections: one `orders` row and nothing else."""
    builder = an_order(order_id, date_updated)
    for key in ("checkout_data", "order_metadata", "discount_list", "order_notes", "order_items", "order_shipments"):
        builder.with_field(FieldPath(key), [])
    return builder


class OrdersResponseBuilder(HttpResponseBuilder):
    def __init__(self) -> None:
        super().__init__(_template("orders"), FieldPath("orders"), None)
        self._total_records: Any = None
        self._omit_total_records = False
        self._offset = 0
        self._limit = 500
        self._headers: Dict[str, str] = {}

    def with_records(self, records: Iterable[RecordBuilder]) -> OrdersResponseBuilder:
        for record in records:
            self.with_record(record)
        return self

    def with_total_records(self, total: Any) -> OrdersResponseBuilder:
        self._total_records = total
        return self

    def without_total_records(self) -> OrdersResponseBuilder:
        self._omit_total_records = True
        return self

    def with_offset(self, offset: int) -> OrdersResponseBuilder:
        self._offset = offset
        return self

    def with_limit(self, limit: int) -> OrdersResponseBuilder:
        self._limit = limit
        return self

    def with_header(self, name: str, value: str) -> OrdersResponseBuilder:
        self._headers[name] = value
        return self

    def with_tokens_remaining(self, tokens: int) -> OrdersResponseBuilder:
        return self.with_header(_TOKENS_REMAINING, str(tokens))

    def build(self) -> HttpResponse:
        body = copy.deepcopy(self._response)
        orders = [record.build() for record in self._records]
        body["orders"] = orders
        body["records_returned"] = len(orders)
        body["offset"] = self._offset
        body["limit"] = self._limit
        if self._omit_total_records:
            body.pop("total_records", None)
        else:
            body["total_records"] = self._total_records if self._total_records is not None else self._offset + len(orders)
        return HttpResponse(json.dumps(body), self._status_code, dict(self._headers))


def orders_page(*records: RecordBuilder) -> OrdersResponseBuilder:
    return OrdersResponseBuilder().with_records(records)


def store_response(folders: Mapping[str, str]) -> HttpResponse:
    """`GET /store` with these folders (id -> name), and nothing else of the store."""
    return HttpResponse(json.dumps({"status": "success", "store": {"id": "4471", "folders": dict(folders)}}), 200)


def clock_response(current_date_time: str = SERVER_NOW, headers: Optional[Mapping[str, str]] = None) -> HttpResponse:
    body = _template("test")
    body["current_date_time"] = current_date_time
    return HttpResponse(json.dumps(body), 200, dict(headers or {}))


def error_response(status: HTTPStatus | int, headers: Optional[Mapping[str, str]] = None) -> HttpResponse:
    code = int(status)
    try:
        body = json.dumps(_template(str(code)))
    except FileNotFoundError:
        body = json.dumps({"status": "error", "message": HTTPStatus(code).phrase})
    return HttpResponse(body, code, dict(headers or {}))


def status_error_response() -> HttpResponse:
    """HTTP 200 whose body says `"status": "error"` (Order Desk does this)."""
    return HttpResponse(json.dumps(_template("status_error")), 200)


def rate_limited_response(retry_after: Optional[Any] = None, tokens_remaining: Optional[int] = 0) -> HttpResponse:
    headers: Dict[str, str] = {}
    if retry_after is not None:
        headers[_RETRY_AFTER] = str(retry_after)
    if tokens_remaining is not None:
        headers[_TOKENS_REMAINING] = str(tokens_remaining)
    return error_response(HTTPStatus.TOO_MANY_REQUESTS, headers)
