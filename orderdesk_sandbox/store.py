"""The sandbox's mutable data: one Order Desk store, its orders, inventory and settings.

Design:
* The serialized JSON bytes of each order are the source of truth. Serving a
  page joins cached bytes; reading an order back parses them (which also makes
  every snapshot a deep copy). A change re-serializes only that order.
* Sorted indexes (see sort_index.py) are kept current on every change; query
  results are cached until the next change, so paging through one query costs
  a slice per page.
* One re-entrant lock guards every read and write: HTTP handler threads, test
  hooks and admin calls all go through it.
"""

import random
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import itemgetter

import orjson

from orderdesk_sandbox import vocabulary as vocab
from orderdesk_sandbox.dates import format_datetime
from orderdesk_sandbox.mutations import modify_order
from orderdesk_sandbox.order_factory import OrderFactory
from orderdesk_sandbox.order_query import OrderQuery, OrderRow
from orderdesk_sandbox.sort_index import Entry, SortIndex, id_sort_key, text_range_keys
from orderdesk_sandbox.tables import ORDER_TABLES

# Fields whose index can be built from OrderRow without parsing payloads.
_ROW_FIELDS = ("date_added", "date_updated", "id")
_RESULT_CACHE_SIZE = 32


@dataclass
class StoreProfile:
    """What `GET /store` returns: id (a string), name, settings and the folder map."""

    store_id: str
    name: str
    settings: dict = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=lambda: dict(vocab.FOLDERS))
    return_address: dict = field(default_factory=dict)

    def as_payload(self) -> dict:
        return {"id": self.store_id, "name": self.name, "settings": self.settings, "folders": self.folders}


class Store:
    """Orders, inventory and settings of one store; thread-safe."""

    def __init__(
        self,
        profile: StoreProfile,
        inventory: list[dict] | None = None,
        orders: Iterable[dict] = (),
        factory: OrderFactory | None = None,
        *,
        seed: int = 0,
        clock_offset_seconds: float = 0.0,
        escape_slashes: bool = True,
    ):
        self.lock = threading.RLock()
        self.profile = profile
        self.inventory = inventory or []
        self.factory = factory or OrderFactory(seed, profile.store_id, [], profile.return_address)
        # Seconds added to the real UTC clock; tests may change it at any time.
        self.clock_offset_seconds = clock_offset_seconds
        # PHP's json_encode writes "/" as "\/" (the docs show "02\/2016"); any JSON parser accepts it.
        self.escape_slashes = escape_slashes
        self.version = 0  # bumped on every change; results are cached per version
        self._rng = random.Random(seed ^ 0x5EED)  # picks orders for random edits
        self._payloads: dict[str, bytes] = {}
        self._rows: dict[str, OrderRow] = {}
        self._indexes: dict[str, SortIndex] = {}
        self._results: OrderedDict[OrderQuery, list[Entry]] = OrderedDict()
        self._inventory_payloads = [self._encode(item) for item in self.inventory]
        for order in orders:
            order_id = str(order["id"])
            self._payloads[order_id] = self._encode(order)
            self._rows[order_id] = OrderRow.of(order)
        for index_field in _ROW_FIELDS:
            self._index(index_field)  # build the common indexes up front

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime:
        """The server clock: UTC, second precision, shifted by clock_offset_seconds."""
        moment = datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset_seconds)
        return moment.replace(microsecond=0)

    def now_text(self) -> str:
        return format_datetime(self.now())

    # ------------------------------------------------------------------ reads

    def __len__(self) -> int:
        return len(self._payloads)

    def order_ids(self) -> set[str]:
        with self.lock:
            return set(self._payloads)

    def orders_snapshot(self) -> list[dict]:
        """Deep copies of every order payload as served, in ascending id order."""
        with self.lock:
            return [orjson.loads(self._payloads[order_id]) for order_id in self._ids_by_number()]

    def order(self, order_id: str) -> dict | None:
        payload = self.order_payload(order_id)
        return None if payload is None else orjson.loads(payload)

    def order_payload(self, order_id: str) -> bytes | None:
        with self.lock:
            return self._payloads.get(order_id)

    def select(self, query: OrderQuery) -> list[Entry]:
        """Index entries `(key, id key, id)` of the matching orders, in answer order.

        The list is cached until the next change and shared: do not modify it.
        """
        with self.lock:
            cached = self._results.get(query)
            if cached is not None:
                self._results.move_to_end(query)
                return cached
            entries = self._run(query)
            self._results[query] = entries
            if len(self._results) > _RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
            return entries

    def payloads(self, order_ids: Iterable[str]) -> list[bytes]:
        with self.lock:
            return [self._payloads[order_id] for order_id in order_ids]

    def inventory_payloads(self) -> list[bytes]:
        return self._inventory_payloads

    def encode(self, value: object) -> bytes:
        """JSON bytes in the store's style (used for envelopes and single objects)."""
        return self._encode(value)

    def expected_keys(self) -> dict[str, set[tuple]]:
        """Primary keys every stream should emit, derived straight from the raw payloads.

        Empty maps (sent as `[]`) and anything that is not the expected shape
        contribute no rows. Ids and map keys are strings; list positions
        (discounts, notes) are 0-based ints.
        """
        keys: dict[str, set[tuple]] = {name: set() for name in _STREAMS}
        with self.lock:
            payloads = list(self._payloads.values())
            keys["folders"] = {(str(folder_id),) for folder_id in self.profile.folders}
            keys["inventory_items"] = {(str(item["id"]),) for item in self.inventory}
        for payload in payloads:
            _add_order_keys(orjson.loads(payload), keys)
        return keys

    # ----------------------------------------------------------------- writes

    def modify(self, n: int | None = None, ids: list[str] | None = None, rng_seed: int | None = None) -> list[str]:
        """Edit orders (folder move, note, item change, shipment...) and stamp date_updated = now.

        Picks `n` random orders (1 when neither n nor ids is given), or edits `ids`.
        """
        with self.lock:
            rng = random.Random(rng_seed) if rng_seed is not None else self._rng
            chosen = self._choose(n, ids, rng)
            now = self.now()
            now_epoch, now_text = int(now.timestamp()), format_datetime(now)
            for order_id in chosen:
                order = orjson.loads(self._payloads[order_id])
                modify_order(order, rng, self.factory, now_epoch)
                order["date_updated"] = now_text
                self._put(order_id, order)
            return chosen

    def add(self, n: int) -> list[str]:
        """New orders in folder New, date_added = date_updated = now, ids above the current max."""
        with self.lock:
            now_epoch = int(self.now().timestamp())
            added = []
            for _ in range(n):
                order_id = self.factory.ids.take_order(self.factory.dice)
                order = self.factory.new_order(order_id, now_epoch, now_epoch, folder_id=vocab.FOLDER_NEW)
                self._put(order_id, order)
                added.append(order_id)
            return added

    def delete(self, n: int | None = None, ids: list[str] | None = None, rng_seed: int | None = None) -> list[str]:
        """Hard delete (no tombstone, like the real API): `n` random orders, or `ids`."""
        with self.lock:
            rng = random.Random(rng_seed) if rng_seed is not None else self._rng
            chosen = self._choose(n, ids, rng)
            for order_id in chosen:
                del self._payloads[order_id]
                del self._rows[order_id]
                for index in self._indexes.values():
                    index.remove(order_id)
            self._changed()
            return chosen

    def put_raw(self, order: dict | bytes | str) -> None:
        """Insert or replace an order exactly as given, for bad-payload tests.

        A dict is served as its JSON; bytes/str are served verbatim (they must
        still parse as a JSON object). Either way it needs an "id"; without a
        string "date_updated" it matches no modified_* filter.
        """
        if isinstance(order, (bytes, str)):
            payload = order.encode() if isinstance(order, str) else order
            parsed = orjson.loads(payload)
        else:
            parsed, payload = order, self._encode(order)
        if not isinstance(parsed, dict) or "id" not in parsed:
            raise ValueError("a raw order must be a JSON object with an 'id'")
        with self.lock:
            self.factory.ids.observe(parsed)
            self._put(str(parsed["id"]), parsed, payload)

    # -------------------------------------------------------------- internals

    def _encode(self, value: object) -> bytes:
        encoded = orjson.dumps(value)
        return encoded.replace(b"/", b"\\/") if self.escape_slashes else encoded

    def _put(self, order_id: str, order: dict, payload: bytes | None = None) -> None:
        self._payloads[order_id] = payload if payload is not None else self._encode(order)
        self._rows[order_id] = OrderRow.of(order)
        for index_field, index in self._indexes.items():
            index.put(order_id, order.get(index_field))
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._results.clear()

    def _choose(self, n: int | None, ids: list[str] | None, rng: random.Random) -> list[str]:
        if ids is not None:
            unknown = [order_id for order_id in ids if order_id not in self._payloads]
            if unknown:
                raise KeyError(f"no such order(s): {unknown}")
            return list(ids)
        count = 1 if n is None else n
        return rng.sample(list(self._payloads), min(count, len(self._payloads)))

    def _ids_by_number(self) -> list[str]:
        return sorted(self._payloads, key=id_sort_key)

    def _index(self, index_field: str) -> SortIndex:
        index = self._indexes.get(index_field)
        if index is None:
            if index_field in _ROW_FIELDS:
                values = ((order_id, getattr(row, index_field)) for order_id, row in self._rows.items())
            else:
                # A rarely used sort field: read it out of every payload once, then keep it current.
                values = (
                    (order_id, _top_level_value(orjson.loads(payload), index_field))
                    for order_id, payload in self._payloads.items()
                )
            index = self._indexes[index_field] = SortIndex(index_field, values)
        return index

    def _run(self, query: OrderQuery) -> list[Entry]:
        sort_index = self._index(query.order_by)
        date_ranges = []
        if query.added_from is not None or query.added_to is not None:
            date_ranges.append(("date_added", *text_range_keys(query.added_from, query.added_to)))
        if query.updated_from is not None or query.updated_to is not None:
            date_ranges.append(("date_updated", *text_range_keys(query.updated_from, query.updated_to)))
        if date_ranges:
            # Start from the narrowest date range, found by bisection on its index.
            field_name, low, high = min(date_ranges, key=lambda r: self._index(r[0]).count_between(r[1], r[2]))
            candidates = self._index(field_name).between(low, high)
            needs_sort = field_name != query.order_by
        else:
            candidates, needs_sort = sort_index.entries, False
        if query.has_filters:
            rows = self._rows
            candidates = [entry for entry in candidates if query.matches(rows[entry[2]])]
        if needs_sort:
            candidates = sorted(sort_index.entry(entry[2]) for entry in candidates)
        if query.descending:
            # A stable sort with reverse=True keeps ties in ascending id order.
            return sorted(candidates, key=itemgetter(0), reverse=True)
        return list(candidates)  # a copy: the index list changes in place later


def _top_level_value(order: object, name: str) -> object:
    return order.get(name) if isinstance(order, dict) else None


_STREAMS = (*ORDER_TABLES, "folders", "inventory_items")


def _add_order_keys(order: dict, keys: dict[str, set[tuple]]) -> None:
    order_id = str(order["id"])
    keys["orders"].add((order_id,))
    for item in _list_of_dicts(order.get("order_items")):
        item_id = str(item.get("id"))
        keys["order_items"].add((order_id, item_id))
        for name in _map_keys(item.get("variation_list")):
            keys["order_items_variation_list"].add((order_id, item_id, name))
    for name in _map_keys(order.get("checkout_data")):
        keys["order_checkout_data"].add((order_id, name))
    for name in _map_keys(order.get("order_metadata")):
        keys["order_metadata"].add((order_id, name))
    for stream, list_field in (("order_discount_list", "discount_list"), ("order_notes", "order_notes")):
        entries = order.get(list_field)
        if isinstance(entries, list):
            keys[stream].update((order_id, position) for position in range(len(entries)))
    for shipment in _list_of_dicts(order.get("order_shipments")):
        keys["order_shipments"].add((str(shipment.get("id")),))


def _list_of_dicts(value: object) -> list[dict]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _map_keys(value: object) -> list[str]:
    """Keys of a PHP-style map: a dict's keys; `[]` (or anything else) has none."""
    return [str(key) for key in value] if isinstance(value, dict) else []
