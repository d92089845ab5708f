"""The Order Desk API v2 endpoints, independent of the HTTP transport.

`OrderDeskApi.handle()` takes a method, a path below /api/v2, the query
parameters and the request headers, and returns status, headers and body
bytes. Authentication and the token bucket are applied here; fault injection
and connection handling belong to the server.
"""

import hmac
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from orderdesk_sandbox.order_query import OrderQuery, QueryError, page_with_shuffled_ties, parse_paging
from orderdesk_sandbox.rate_limit import RateLimiter
from orderdesk_sandbox.store import Store

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
STORE_ID_HEADER = "ORDERDESK-STORE-ID"
API_KEY_HEADER = "ORDERDESK-API-KEY"


@dataclass
class ApiResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE
    rate_limited: bool = False  # a 429 from the token bucket (for stats)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, orjson.dumps({"status": "error", "message": message}), headers or {})


class OrderDeskApi:
    def __init__(
        self,
        store: Store,
        store_id: str,
        api_key: str,
        limiter: RateLimiter,
        *,
        shuffle_ties: bool = False,
        ignore_order_by: bool = False,
        tie_seed: int = 0,
    ):
        self.store = store
        self.store_id = store_id
        self.api_key = api_key
        self.limiter = limiter
        self.shuffle_ties = shuffle_ties  # ties in the sort key come in a new random order per request
        self.ignore_order_by = ignore_order_by  # always sort date_added DESC, whatever the client asks
        self._tie_rng = random.Random(tie_seed)
        self._tie_lock = threading.Lock()
        self._routes: list[tuple[re.Pattern, Callable[..., ApiResponse]]] = [
            (re.compile(r"/test"), self._test),
            (re.compile(r"/orders"), self._orders),
            (re.compile(r"/orders/([^/]+)"), self._order),
            (re.compile(r"/orders/([^/]+)/order-items"), self._order_items),
            (re.compile(r"/orders/([^/]+)/order-items/([^/]+)"), self._order_item),
            (re.compile(r"/orders/([^/]+)/shipments"), self._shipments),
            (re.compile(r"/orders/([^/]+)/shipments/([^/]+)"), self._shipment),
            (re.compile(r"/store"), self._store),
            (re.compile(r"/inventory-items"), self._inventory_items),
            (re.compile(r"/inventory-items/([^/]+)"), self._inventory_item),
        ]

    # ------------------------------------------------------------ entry points

    def handle(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> ApiResponse:
        """Authenticate, spend a token, answer. Every answer carries X-Tokens-Remaining."""
        if not self.authorized(headers):
            # A refused login takes no token, but still reports the store's budget.
            return error_response(401, "Invalid store ID or API key", {"X-Tokens-Remaining": str(self.tokens_remaining())})
        decision = self.limiter.take(self.store_id)
        if not decision.allowed:
            response = error_response(
                429,
                "Rate limit exceeded",
                {"X-Tokens-Remaining": str(decision.tokens_remaining), "X-Retry-After": str(decision.retry_after)},
            )
            response.rate_limited = True
            return response
        response = self.route(method, path, params)
        response.headers["X-Tokens-Remaining"] = str(decision.tokens_remaining)
        return response

    def route(self, method: str, path: str, params: Mapping[str, str]) -> ApiResponse:
        """The endpoint's answer alone (no auth, no token): also used to build truncated-body faults."""
        for pattern, endpoint in self._routes:
            match = pattern.fullmatch(path)
            if match:
                if method != "GET":
                    return error_response(405, f"The sandbox is read-only: {method} {path} is not supported")
                started = time.perf_counter()
                try:
                    return endpoint(params, started, *match.groups())
                except QueryError as error:
                    return error_response(400, str(error))
        return error_response(404, f"Unknown endpoint {path}")

    def authorized(self, headers: Mapping[str, str]) -> bool:
        store_id = headers.get(STORE_ID_HEADER) or ""
        api_key = headers.get(API_KEY_HEADER) or ""
        # compare_digest: no timing hints about the key, as a real server should behave.
        return hmac.compare_digest(store_id.encode(), self.store_id.encode()) and hmac.compare_digest(
            api_key.encode(), self.api_key.encode()
        )

    def tokens_remaining(self) -> int:
        return self.limiter.peek(self.store_id)

    # --------------------------------------------------------------- endpoints

    def _test(self, params: Mapping[str, str], started: float) -> ApiResponse:
        return self._success(
            started,
            {"message": "Connection Successful", "current_date_time": self.store.now_text()},
            execution_time_last=True,
        )

    def _orders(self, params: Mapping[str, str], started: float) -> ApiResponse:
        limit, offset = parse_paging(params)
        query = OrderQuery.from_params(params, self.store.profile.folders, honour_sort=not self.ignore_order_by)
        with self.store.lock:  # the page's orders must not be deleted between select and read
            entries = self.store.select(query)
            if self.shuffle_ties:
                with self._tie_lock:
                    page = page_with_shuffled_ties(entries, offset, offset + limit, self._tie_rng)
            else:
                page = entries[offset : offset + limit]
            payloads = self.store.payloads(entry[2] for entry in page)
        if params.get("get_order_history") == "1":
            payloads = [self._with_history(payload) for payload in payloads]
        # The envelope is written by hand so that the cached order bytes can be joined in as they are.
        head = (
            f'{{"status":"success","execution_time":"{_elapsed(started)}","total_records":{len(entries)},'
            f'"records_returned":{len(payloads)},"offset":{offset},"limit":{limit},"orders":['
        )
        return ApiResponse(200, head.encode() + b",".join(payloads) + b"]}")

    def _order(self, params: Mapping[str, str], started: float, order_id: str) -> ApiResponse:
        payload = self.store.order_payload(order_id)
        if payload is None:
            return error_response(404, "Order not found")
        head = f'{{"status":"success","execution_time":"{_elapsed(started)}","order":'
        return ApiResponse(200, head.encode() + payload + b"}")

    def _order_items(self, params: Mapping[str, str], started: float, order_id: str) -> ApiResponse:
        order = self.store.order(order_id)
        if order is None:
            return error_response(404, "Order not found")
        items = order.get("order_items") or []
        return self._success(started, {"total_records": len(items), "order_items": items})

    def _order_item(self, params: Mapping[str, str], started: float, order_id: str, item_id: str) -> ApiResponse:
        order = self.store.order(order_id)
        item = _find_by_id(order.get("order_items") if order else None, item_id)
        if item is None:
            return error_response(404, "Order item not found")
        return self._success(started, {"order_item": item})

    def _shipments(self, params: Mapping[str, str], started: float, order_id: str) -> ApiResponse:
        order = self.store.order(order_id)
        if order is None:
            return error_response(404, "Order not found")
        # The standalone shipment object has label_shipment_id; the embedded one does not.
        shipments = [{**shipment, "label_shipment_id": ""} for shipment in order.get("order_shipments") or []]
        return self._success(started, {"total_records": len(shipments), "shipments": shipments})

    def _shipment(self, params: Mapping[str, str], started: float, order_id: str, shipment_id: str) -> ApiResponse:
        order = self.store.order(order_id)
        shipment = _find_by_id(order.get("order_shipments") if order else None, shipment_id)
        if shipment is None:
            return error_response(404, "Shipment not found")
        return self._success(started, {"shipment": {**shipment, "label_shipment_id": ""}})

    def _store(self, params: Mapping[str, str], started: float) -> ApiResponse:
        return self._success(started, {"store": self.store.profile.as_payload()})

    def _inventory_items(self, params: Mapping[str, str], started: float) -> ApiResponse:
        limit, offset = parse_paging(params)
        payloads = self.store.inventory_payloads()
        page = payloads[offset : offset + limit]
        # total_records is a string on this endpoint (and an int on /orders): a documented quirk.
        head = (
            f'{{"status":"success","execution_time":"{_elapsed(started)}","records_returned":{len(page)},'
            f'"total_records":"{len(payloads)}","inventory_items":['
        )
        return ApiResponse(200, head.encode() + b",".join(page) + b"]}")

    def _inventory_item(self, params: Mapping[str, str], started: float, item_id: str) -> ApiResponse:
        item = _find_by_id(self.store.inventory, item_id)
        if item is None:
            return error_response(404, "Inventory item not found")
        return self._success(started, {"records_returned": 1, "inventory_item": item})

    # ----------------------------------------------------------------- helpers

    def _success(self, started: float, fields: dict, execution_time_last: bool = False) -> ApiResponse:
        envelope = {"status": "success"}
        if not execution_time_last:
            envelope["execution_time"] = _elapsed(started)
        envelope.update(fields)
        if execution_time_last:
            envelope["execution_time"] = _elapsed(started)
        return ApiResponse(200, self.store.encode(envelope))

    def _with_history(self, payload: bytes) -> bytes:
        """The order plus an `order_history` list (only sent with get_order_history=1)."""
        order = orjson.loads(payload)
        history = [
            {"source_name": order.get("source_name", ""), "note": "Order imported", "date_added": order.get("date_added", "")}
        ]
        if order.get("date_updated") != order.get("date_added"):
            history.append({"source_name": "Order Desk", "note": "Order updated", "date_added": order.get("date_updated", "")})
        order["order_history"] = history
        return self.store.encode(order)


def _elapsed(started: float) -> str:
    return f"{time.perf_counter() - started:.4f} seconds"


def _find_by_id(entries: object, wanted_id: str) -> dict | None:
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and str(entry.get("id")) == wanted_id:
            return entry
    return None
