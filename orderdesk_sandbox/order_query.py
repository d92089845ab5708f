"""What a `GET /orders` request asks for: filters, sort field and direction.

Parsing the query string lives here so the store only sees a validated,
hashable `OrderQuery` (it is also the key of the store's result cache).
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass

from orderdesk_sandbox.dates import normalize_query_datetime

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_ORDER_BY = "date_added"

# Filters that compare one top-level field for equality (exact match; the real
# API's matching rules for these are undocumented).
EQUALITY_FILTERS = ("source_id", "email", "source_name", "customer_id")


class QueryError(ValueError):
    """A query parameter the sandbox cannot make sense of (answered with HTTP 400)."""


@dataclass(frozen=True)
class OrderRow:
    """The indexed top-level fields of one order, taken from its payload on every change.

    Dates keep whatever the payload holds (a raw test payload may hold junk);
    only strings can match a date filter.
    """

    id: str
    date_added: object
    date_updated: object
    folder_id: str
    source_id: object
    email: object
    source_name: object
    customer_id: object

    @classmethod
    def of(cls, order: Mapping) -> "OrderRow":
        return cls(
            id=str(order["id"]),
            date_added=order.get("date_added"),
            date_updated=order.get("date_updated"),
            folder_id=str(order.get("folder_id")),
            source_id=order.get("source_id"),
            email=order.get("email"),
            source_name=order.get("source_name"),
            customer_id=order.get("customer_id"),
        )


@dataclass(frozen=True)
class OrderQuery:
    order_by: str = DEFAULT_ORDER_BY
    descending: bool = True
    added_from: str | None = None  # inclusive bounds, stored date format
    added_to: str | None = None
    updated_from: str | None = None
    updated_to: str | None = None
    folder_ids: frozenset[str] | None = None
    equals: tuple[tuple[str, str], ...] = ()  # (field, value) pairs from EQUALITY_FILTERS

    @classmethod
    def from_params(cls, params: Mapping[str, str], folders: Mapping[str, str], honour_sort: bool = True) -> "OrderQuery":
        """Build from query parameters. Blank values count as absent; unknown ones are ignored."""
        order_by, descending = DEFAULT_ORDER_BY, True
        if honour_sort:
            order_by = _given(params, "order_by") or DEFAULT_ORDER_BY
            descending = (_given(params, "order") or "DESC").upper() != "ASC"
        return cls(
            order_by=order_by,
            descending=descending,
            added_from=_date_param(params, "search_start_date"),
            added_to=_date_param(params, "search_end_date"),
            updated_from=_date_param(params, "modified_start_date"),
            updated_to=_date_param(params, "modified_end_date"),
            folder_ids=_folder_ids(params, folders),
            equals=tuple((name, params[name]) for name in EQUALITY_FILTERS if _given(params, name)),
        )

    def matches(self, row: OrderRow) -> bool:
        """True when the order passes every filter (all filters combine with AND)."""
        if self.added_from is not None or self.added_to is not None:
            if not _in_range(row.date_added, self.added_from, self.added_to):
                return False
        if self.updated_from is not None or self.updated_to is not None:
            if not _in_range(row.date_updated, self.updated_from, self.updated_to):
                return False
        if self.folder_ids is not None and row.folder_id not in self.folder_ids:
            return False
        return all(getattr(row, field) == value for field, value in self.equals)

    @property
    def has_filters(self) -> bool:
        return any(
            value is not None for value in (self.added_from, self.added_to, self.updated_from, self.updated_to, self.folder_ids)
        ) or bool(self.equals)


def parse_paging(params: Mapping[str, str]) -> tuple[int, int]:
    """(limit, offset): limit defaults to 50 and is clamped to 500; offset defaults to 0."""
    limit = _int_param(params, "limit", DEFAULT_LIMIT)
    offset = _int_param(params, "offset", 0)
    if limit < 1:
        raise QueryError("limit must be a positive integer")
    if offset < 0:
        raise QueryError("offset must not be negative")
    return min(limit, MAX_LIMIT), offset


def page_with_shuffled_ties(entries: list, start: int, stop: int, rng: random.Random) -> list:
    """The slice [start, stop) after shuffling every run of equal sort keys that it touches.

    Simulates an API whose tie order is arbitrary per request: pages of the
    same query can then overlap or leave gaps inside a tie run.
    """
    if start >= len(entries):
        return []
    stop = min(stop, len(entries))
    run_start = start
    while run_start > 0 and entries[run_start - 1][0] == entries[start][0]:
        run_start -= 1
    run_stop = stop
    while run_stop < len(entries) and entries[run_stop][0] == entries[stop - 1][0]:
        run_stop += 1
    window = entries[run_start:run_stop]
    shuffled: list = []
    run_begin = 0
    for position in range(1, len(window) + 1):
        if position == len(window) or window[position][0] != window[run_begin][0]:
            run = window[run_begin:position]
            rng.shuffle(run)
            shuffled.extend(run)
            run_begin = position
    return shuffled[start - run_start : stop - run_start]


def _in_range(value: object, low: str | None, high: str | None) -> bool:
    if not isinstance(value, str):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _given(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def _date_param(params: Mapping[str, str], name: str) -> str | None:
    value = _given(params, name)
    if value is None:
        return None
    try:
        return normalize_query_datetime(value)
    except ValueError as error:
        raise QueryError(f"Invalid {name}: {value}") from error


def _folder_ids(params: Mapping[str, str], folders: Mapping[str, str]) -> frozenset[str] | None:
    """Folder ids an order must be in: `folder_id` (one id or a comma list) and/or `folder_name`."""
    wanted: set[str] | None = None
    folder_id = _given(params, "folder_id")
    if folder_id is not None:
        wanted = {part.strip() for part in folder_id.split(",") if part.strip()}
    folder_name = _given(params, "folder_name")
    if folder_name is not None:
        # An unknown name matches no folder, so no order, rather than every order.
        named = {fid for fid, name in folders.items() if name == folder_name}
        wanted = named if wanted is None else wanted & named
    return None if wanted is None else frozenset(wanted)


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    value = _given(params, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise QueryError(f"{name} must be an integer") from error
