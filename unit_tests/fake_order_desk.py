"""A tiny in-memory stand-in for `GET /orders`, for driving `OrderPager` without HTTP.

It keeps only what paging depends on: each order's id and `date_updated`, the inclusive
`modified_start_date`/`modified_end_date` filter, `order_by=date_updated` or `order_by=id` with `order=asc`
or `order=desc` (or Order Desk's default order, `date_added DESC`, when the API ignores `order_by` or the
field asked for), offset, the request's own `limit` (else the page size of the drain) and `total_records`.
A descending sort is the ascending one read backwards, ties included, like a backward index scan.
Orders that share a sort key come back in a configurable tie order, which may change from one query to
the next, as it may with a SQL `ORDER BY ... LIMIT ... OFFSET ...` whose plan depends on the offset
(MySQL is free to return ties in any order, and does so differently for different LIMIT/OFFSET). A hook
runs before every query, so a test can update orders mid-sync (an update moves `date_updated` to "now",
after the sync's upper bound); `OrdersLeave` is such a hook, for a second that keeps losing orders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from source_orderdesk.paging import OrderPager, PageRequest

AFTER_THE_SYNC = "2030-01-01 00:00:00"  # where an order lands when it is updated mid-sync


def sort_probe(start: str, end: str) -> PageRequest:
    """The request by which the pager checks, once per sync, that `order_by` is honoured: the window of its
    first full page from that page's first second (`start`), sorted by date_updated descending, one order
    (its latest, if the sort is honoured)."""
    return PageRequest(start, end, 0, "date_updated", descending=True, limit=1)


def floor_probe(start: str, before: str) -> PageRequest:
    """The sort probe's second question, when the window starts before its first full page: one order
    updated from the window's start to the second `before` the page's first (none, if the sort is honoured)."""
    return PageRequest(start, before, 0, "date_updated", limit=1)


@dataclass
class FakeOrderDesk:
    orders: Dict[str, str]  # id -> date_updated, `YYYY-MM-DD HH:MM:SS`
    honours_order_by: bool = True
    sortable: Tuple[str, ...] = ("date_updated", "id")  # the `order_by` fields it honours (if it honours any)
    # id -> date_added; an order without one sorts by its id in the default order (ids grow with date_added)
    added: Dict[str, str] = field(default_factory=dict)
    shuffle_ties: bool = False
    # with shuffle_ties: a new tie order for every query, even a repeated one (else the same query gets the same rows)
    ties_vary_per_query: bool = False
    omit_total: bool = False
    seed: int = 0
    before_query: Optional[Callable[[FakeOrderDesk, int], None]] = None
    requests: List[PageRequest] = field(default_factory=list)

    def update(self, order_id: str, date_updated: str = AFTER_THE_SYNC) -> None:
        self.orders[order_id] = date_updated

    def ids_at(self, second: str) -> List[str]:
        """The ids of the orders last updated at `second`, ascending."""
        return sorted((order_id for order_id, updated in self.orders.items() if updated == second), key=_numeric)

    def query(self, request: PageRequest, limit: int) -> Tuple[List[Dict[str, Any]], Optional[int]]:
        if self.before_query is not None:
            self.before_query(self, len(self.requests))
        self.requests.append(request)
        rows = [(order_id, updated) for order_id, updated in self.orders.items() if request.start <= updated <= request.end]
        # Ties in an order that depends on the query (not on how often it was asked): asking the same
        # page again gives the same rows, but neighbouring offsets need not agree with each other.
        tie_seed = f"{self.seed}|{request.start}|{request.end}|{request.offset}"
        if self.ties_vary_per_query:
            tie_seed += f"|{len(self.requests)}"
        tie = random.Random(tie_seed) if self.shuffle_ties else None
        if self.honours_order_by and request.sort in self.sortable:
            if request.sort == "id":
                rows.sort(key=lambda row: _numeric(row[0]), reverse=request.descending)  # ids are unique: no ties
            else:
                rows.sort(key=lambda row: (row[1], tie.random() if tie else _numeric(row[0])), reverse=request.descending)
        else:
            # Order Desk's default order (date_added DESC), which has nothing to do with date_updated.
            rows.sort(key=lambda row: self._date_added_key(row[0], tie), reverse=True)
        page = rows[request.offset : request.offset + (request.limit or limit)]
        total = None if self.omit_total else len(rows)
        return [{"id": order_id, "date_updated": updated} for order_id, updated in page], total

    def _date_added_key(self, order_id: str, tie: Optional[random.Random]) -> Tuple[Any, ...]:
        if order_id in self.added:
            return (1, self.added[order_id], tie.random() if tie else _numeric(order_id))
        return (0, "", _numeric(order_id))


@dataclass
class OrdersLeave:
    """A `before_query` hook: before every query from `from_query` on, one order still at `second`, the one
    `pick` chooses among their ids (ascending), is updated, and so leaves that second. `remaining_at[n]` is
    what was still there when query n was answered."""

    second: str
    pick: Callable[[List[str]], str]
    from_query: int = 1
    remaining_at: List[Set[str]] = field(default_factory=list)

    def __call__(self, api: FakeOrderDesk, query_index: int) -> None:
        remaining = api.ids_at(self.second)
        if query_index >= self.from_query and remaining:
            api.update(self.pick(remaining))
        self.remaining_at.append(set(api.ids_at(self.second)))


def _numeric(order_id: str) -> Any:
    return int(order_id) if order_id.isdigit() else order_id


@dataclass
class Run:
    emitted: List[Tuple[str, str]]  # (id, date_updated) in the order handed out
    requests: List[PageRequest]
    checkpoints: List[Optional[str]]  # the pager's checkpoint after each accepted page
    # after each accepted page: (checkpoint, ids handed out so far)
    progress: List[Tuple[Optional[str], List[str]]]

    @property
    def ids(self) -> List[str]:
        return [order_id for order_id, _ in self.emitted]


def drain(pager: OrderPager, api: FakeOrderDesk, limit: int, max_requests: int = 2_000) -> Run:
    emitted: List[Tuple[str, str]] = []
    checkpoints: List[Optional[str]] = []
    progress: List[Tuple[Optional[str], List[str]]] = []
    while (request := pager.next_request) is not None:
        if len(api.requests) >= max_requests:
            raise AssertionError(f"the pager did not finish within {max_requests} requests")
        page, total = api.query(request, limit)
        fresh = pager.accept(page, total, request.limit or limit)  # Order Desk echoes the limit it applied
        emitted.extend((order["id"], order["date_updated"]) for order in fresh)
        checkpoints.append(pager.checkpoint)
        progress.append((pager.checkpoint, [order_id for order_id, _ in emitted]))
    return Run(emitted, list(api.requests), checkpoints, progress)
