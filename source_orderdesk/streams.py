"""The streams: `orders` reads the API; every other order table is cut from the same order payloads."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Iterator, List, Mapping, MutableMapping, Optional

import requests
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin, Stream
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.sources.streams.http import HttpStream
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler

from . import __version__
from .api import (
    MAX_RETRIES,
    REQUEST_TIMEOUT,
    OrderDeskAuth,
    OrderDeskErrorHandler,
    QuietTracebacks,
    RetryAfterBackoff,
    response_json,
)
from .config import OrderDeskConfig
from .paging import OrderPager, PageRequest, offset_passes, utc_now_key
from .redaction import mask_secrets_in_logged_bodies, without_secrets, without_value
from .rows import PARENT_COLUMNS, FieldError, OrderRows, Plan, as_list, as_map, compile_plan, preview
from .timestamps import PayloadError, format_api_time, format_rfc3339, from_state_value, parse_api_time

USER_AGENT = f"airbyte-source-orderdesk/{__version__} (+https://github.com/airbytehq/airbyte)"
logger = logging.getLogger("airbyte")


class OrderDeskStream(HttpStream):
    """What every Order Desk request shares: the base URL, auth, one rate budget, errors and retries."""

    primary_key: Any = "id"
    request_timeout: tuple[float, float] = REQUEST_TIMEOUT  # (connect, read) seconds

    def __init__(self, config: OrderDeskConfig, api_budget: APIBudget, max_retries: int = MAX_RETRIES) -> None:
        self.config = config
        self._max_retries = max_retries
        self.logger.addFilter(QuietTracebacks())
        super().__init__(authenticator=OrderDeskAuth(config.store_id, config.api_key), api_budget=api_budget)

    @property
    def url_base(self) -> str:
        return self.config.url_base

    def request_headers(self, **kwargs: Any) -> Mapping[str, Any]:
        return {"User-Agent": USER_AGENT, "Accept": "application/json"}

    def request_kwargs(self, **kwargs: Any) -> Mapping[str, Any]:
        return {"timeout": self.request_timeout}

    def get_error_handler(self) -> ErrorHandler:
        return OrderDeskErrorHandler(logger=self.logger, max_retries=self._max_retries)

    def get_backoff_strategy(self) -> BackoffStrategy:
        return RetryAfterBackoff()

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return None

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield response_json(response)

    def get_json(self, path: str) -> Mapping[str, Any]:
        """One GET through the CDK's client (budget, retries, error mapping), decoded."""
        _, response = self._http_client.send_request(
            http_method="GET",
            url=self._join_url(self.url_base, path),
            request_kwargs=self.request_kwargs(),
            headers=self.request_headers(),
        )
        return response_json(response)


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Mapping[str, Any]]  # new to this sync
    checkpoint: Optional[str]  # restart point (API layout), or None before the first full page


class Orders(OrderDeskStream, CheckpointMixin):
    """Orders by `date_updated`, paged by `OrderPager` so that none is skipped."""

    cursor_field = "date_updated"

    def __init__(self, config: OrderDeskConfig, api_budget: APIBudget, max_retries: int = MAX_RETRIES) -> None:
        super().__init__(config, api_budget, max_retries)
        self._state: MutableMapping[str, Any] = {}
        self._clock_read: tuple[str, float] = ("", 0.0)  # the second server_now returned, and when (monotonic)

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def path(self, **kwargs: Any) -> str:
        return "orders"

    def request_params(
        self,
        stream_state: Optional[Mapping[str, Any]],
        stream_slice: Optional[Mapping[str, Any]] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> MutableMapping[str, Any]:
        params: dict[str, Any] = {"limit": self.config.page_size, **(next_page_token or {})}
        if self.config.folder_ids:
            params["folder_id"] = ",".join(str(folder) for folder in self.config.folder_ids)
        return params

    def server_now(self) -> str:
        """Order Desk's clock (UTC), so a sync's upper bound does not depend on ours."""
        body = self.get_json("test")
        reported = body.get("current_date_time")
        try:
            now = format_api_time(parse_api_time(str(reported)))
        except (ValueError, TypeError):
            self.logger.warning("Order Desk's /test did not report its clock; using the local UTC clock.")
            now = utc_now_key()
        self._clock_read = (now, time.monotonic())
        return now

    def pages(self, start: str, end: str) -> Iterator[OrdersPage]:
        pager = OrderPager(start, end, self.config.page_size, self.logger)
        while (request := pager.next_request) is not None:
            if request.start == end:
                self._wait_until_second_is_over(end)
            orders, total, limit = self.fetch(request)
            fresh = pager.accept(orders, total, limit)
            yield OrdersPage(fresh, pager.checkpoint)

    def _wait_until_second_is_over(self, second: str) -> None:
        # Orders updated during the clock's current second still join it: a read of that second alone (by
        # offset, when it holds more than a page) would never settle while it is open. It is over at most
        # one second after the clock was read.
        read, at = self._clock_read
        if read == second:
            time.sleep(max(0.0, at + 1.0 - time.monotonic()))
            self._clock_read = ("", 0.0)

    def fetch(self, request: PageRequest) -> tuple[list[Mapping[str, Any]], Optional[int], Optional[int]]:
        _, response = self._fetch_next_page(next_page_token=request.params())
        body = response_json(response)
        return as_list(body.get("orders")), _optional_int(body.get("total_records")), _optional_int(body.get("limit"))

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        """Stand-alone reading (the source normally reads all order tables in one pass instead)."""
        state = self.state if sync_mode == SyncMode.incremental else {}
        start = start_key(self.config, state.get(self.cursor_field))
        rows = OrderRows({self.name: self.plan})
        for page in self.pages(start, self.server_now()):
            for order in page.orders:
                yield from rows.rows(self.name, order)
            if page.checkpoint and sync_mode == SyncMode.incremental:
                self._state = {self.cursor_field: later_cursor(state.get(self.cursor_field), page.checkpoint)}

    @cached_property
    def plan(self) -> Plan:
        return compile_plan(self.get_json_schema())


class OrderTable(Stream):
    """A table cut from each order's payload. It makes no request of its own: the source reads it in
    the same pass as `orders` (see `order_pass.py`)."""

    cursor_field = "order_date_updated"
    primary_key: Any = None

    def __init__(self, orders: Orders) -> None:
        self.orders = orders

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        rows = OrderRows({self.name: self.plan})
        start = start_key(self.orders.config, (stream_state or {}).get(self.cursor_field))
        for page in self.orders.pages(start, self.orders.server_now()):
            for order in page.orders:
                yield from rows.rows(self.name, order)

    @cached_property
    def plan(self) -> Plan:
        return compile_plan(self.get_json_schema(), skip=PARENT_COLUMNS)


class OrderItems(OrderTable):
    primary_key = ["order_id", "id"]


class OrderItemsVariationList(OrderTable):
    primary_key = ["order_id", "order_item_id", "name"]


class OrderCheckoutData(OrderTable):
    primary_key = ["order_id", "name"]


class OrderMetadata(OrderTable):
    primary_key = ["order_id", "name"]


class OrderDiscountList(OrderTable):
    primary_key = ["order_id", "position"]


class OrderNotes(OrderTable):
    primary_key = ["order_id", "position"]


class OrderShipments(OrderTable):
    primary_key = "id"


class OrderIds(OrderTable):
    """Every order that exists now. Only useful as a full refresh: reading it scans the whole store."""

    primary_key = "id"
    cursor_field: list[str] = []  # no cursor: offered as full refresh only

    @cached_property
    def plan(self) -> Plan:
        return compile_plan(self.get_json_schema())


ORDER_TABLES = (
    OrderCheckoutData,
    OrderMetadata,
    OrderDiscountList,
    OrderNotes,
    OrderItems,
    OrderItemsVariationList,
    OrderShipments,
    OrderIds,
)


def start_key(config: OrderDeskConfig, cursor: Any) -> str:
    """Where a stream's sync starts: its saved cursor less the lookback, never before the start date."""
    start = config.start_date
    saved = from_state_value(cursor)
    if saved is not None:
        resumed = parse_api_time(saved)
        if resumed > start + config.lookback:  # compared, not subtracted: a cursor in the year 1 would overflow
            start = resumed - config.lookback
    return format_api_time(start)


def later_cursor(saved: Any, checkpoint: str) -> str:
    """The state to save: the checkpoint as RFC 3339, but never earlier than the saved cursor."""
    previous = from_state_value(saved)
    best = checkpoint if previous is None or checkpoint > previous else previous
    return format_rfc3339(parse_api_time(best))


def _optional_int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class StoreResource(OrderDeskStream):
    """A full-refresh table read from one Order Desk resource."""

    @property
    def is_resumable(self) -> bool:
        # Otherwise the CDK makes these streams "resumable full refresh": it saves
        # {"__ab_full_refresh_sync_complete": true} and, given that state back (PyAirbyte always gives
        # it), reads nothing. These resources are small and are simply read whole each time.
        return False

    @cached_property
    def plan(self) -> Plan:
        return compile_plan(self.get_json_schema())

    def _payload_error(self, subject: str, problem: str, lost: str) -> PayloadError:
        """Worded like the order tables' errors: what, which field and why, and that it was not replicated."""
        return PayloadError(
            f"{subject}: {self.name} {problem}. {lost} not replicated; please report this value to the connector's maintainers."
        )


@dataclass
class StoreAnswer:
    """`GET /store`, asked once per sync: `folders` and `store` are both cut from its answer."""

    response: Optional[requests.Response] = None


class StoreEndpoint(StoreResource):
    """A table read from `GET /store`, whose body holds the store's secrets (its API key, SMTP password).

    The CDK logs response bodies before `parse_response` sees them (each one with `--debug`, and a 2xx
    answer it retries at INFO), so secret-named values are masked in those log records first; see
    `mask_secrets_in_logged_bodies`.
    """

    lost = "The store was"  # what a bad payload costs, in its error message

    def __init__(
        self,
        config: OrderDeskConfig,
        api_budget: APIBudget,
        max_retries: int = MAX_RETRIES,
        answer: Optional[StoreAnswer] = None,
    ) -> None:
        super().__init__(config, api_budget, max_retries)
        mask_secrets_in_logged_bodies(self.logger)
        self._answer = answer or StoreAnswer()

    def path(self, **kwargs: Any) -> str:
        return "store"

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        if self._answer.response is not None:  # the other /store stream of this sync asked already
            yield from self.parse_response(self._answer.response)
            return
        yield from super().read_records(sync_mode, cursor_field, stream_slice, stream_state)

    def _store(self, response: requests.Response) -> Optional[dict]:
        """The body's `store` object, or None when there is none."""
        self._answer.response = response
        store = response_json(response).get("store")
        if store is None or isinstance(store, dict):
            return store
        if store == "" or store == []:  # PHP's empty map
            return None
        # Not quoted: the store's values may be secrets, and an error message is shown and logged.
        raise self._store_error(f"field store is {self._json_kind(store)}, not an object")

    def _store_error(self, problem: str) -> PayloadError:
        return self._payload_error(f"Store {self.config.store_id}", problem, self.lost)

    @staticmethod
    def _json_kind(value: Any) -> str:
        return {str: "a string", bool: "true or false", list: "a list"}.get(type(value), "a number")


class Folders(StoreEndpoint):
    """`GET /store` lists folders as a map of id to name; one row each, so orders.folder_id has a name."""

    lost = "The folders were"

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        folders = (self._store(response) or {}).get("folders")
        if isinstance(folders, list):  # tolerate the list-of-objects shape some clients document
            pairs = [(f.get("id"), f.get("name")) for f in folders if isinstance(f, dict)]
        else:
            try:
                pairs = list((as_map(folders) or {}).items())
            except FieldError as error:  # folder names are no secrets: the value is quoted
                raise self._store_error(f"field folders: {error}") from None
        for folder_id, name in pairs:
            yield self.plan({"id": folder_id, "name": name})


class Store(StoreEndpoint):
    """The store and its settings, with secrets removed at any depth: Order Desk returns API keys, mail
    passwords, and integrations' tokens, some of them outside `settings`."""

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        store = self._store(response)
        if store is None:
            return
        settings = store.get("settings")
        try:
            settings = as_map(settings) or {}
        except FieldError:
            raise self._store_error(f"field settings is {self._json_kind(settings)}, not a map of names to values") from None
        row = without_secrets({**{key: value for key, value in store.items() if key != "folders"}, "settings": settings})
        row = without_value(row, self.config.api_key)  # the key itself, whatever the setting that holds it is called
        yield self.plan(row)


class InventoryItems(StoreResource):
    """Inventory by offset (its only paging), re-read until one pass is provably complete."""

    def path(self, **kwargs: Any) -> str:
        return "inventory-items"

    def request_params(
        self, stream_state: Any, stream_slice: Any = None, next_page_token: Any = None
    ) -> MutableMapping[str, Any]:
        return {"limit": self.config.page_size, **(next_page_token or {})}

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        seen: set[str] = set()
        for items in offset_passes(self._fetch_items, self.config.page_size, self.logger):
            for item in items:
                row = self._row(item)
                if row.get("id") not in seen:
                    seen.add(row.get("id"))
                    yield row

    def _row(self, item: Any) -> dict:
        if not isinstance(item, dict):
            raise self._payload_error(f"Inventory item {preview(item)}", "item is not an object", "The item was")
        try:
            return self.plan(dict(item))
        except FieldError as error:
            raise self._payload_error(self._item_name(item), f"field {error}", "The item was") from None

    @staticmethod
    def _item_name(item: Mapping[str, Any]) -> str:
        """An item as a store owner finds it in Order Desk: by id, and by code (its SKU) when it has no id."""
        item_id, code = item.get("id"), item.get("code")
        if item_id not in (None, ""):
            return f"Inventory item {item_id}" + (f" (code {code})" if code not in (None, "") else "")
        return f"Inventory item with code {code}" if code not in (None, "") else "An inventory item"

    def _fetch_items(self, offset: int) -> tuple[list[Mapping[str, Any]], Optional[int], Optional[int]]:
        _, response = self._fetch_next_page(next_page_token={"offset": offset} if offset else None)
        body = response_json(response)
        try:
            items = as_list(body.get("inventory_items"))
        except FieldError as error:
            problem = f"field inventory_items: {error}"
            raise self._payload_error(f"Inventory items at offset {offset}", problem, "The page was") from None
        return items, _optional_int(body.get("total_records")), _optional_int(body.get("limit"))
