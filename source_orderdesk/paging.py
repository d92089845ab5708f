"""Plans the `/orders` requests of one sync so that no order is skipped, even while orders change.

Order Desk pages by offset only. Offset paging over a date window loses rows when an order in the
window is updated mid-sync: it leaves the window, every later row shifts one place down, and the
row at the next page boundary is never returned. So offsets are avoided:

* keyset mode (normal): ask for `date_updated` ascending from a start second, offset 0. The next
  request starts at the last second of the page, so rows can only be re-read, never skipped;
  re-read rows of that boundary second are dropped by id.
* second mode: when one second holds more orders than a page (bulk imports), that single second is
  paged by offset. Past seconds only lose rows (an update moves an order to "now"), so a pass that
  saw as many distinct orders as the window reported, with a total that never changed, saw them all;
  otherwise the second is read again.
* window mode (fallback): if Order Desk ever ignores `order_by` (undocumented behaviour), the range
  is cut into windows that each fit in one page, where order does not matter.

Timestamps are Order Desk's `YYYY-MM-DD HH:MM:SS` UTC strings, which sort like the times they name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from .timestamps import api_time_key, format_api_time, parse_api_time

SECOND = timedelta(seconds=1)
MAX_PASSES_OVER_ONE_SECOND = 10
# Window mode aims below a full page, so that a window grown from a sparse stretch still fits.
WINDOW_FILL = 0.8

KEYSET, SECOND_PASS, WINDOW, SORT_PROBE = "keyset", "second", "window", "sort probe"


class PagingError(RuntimeError):
    """The API's answers never settled, so completeness cannot be proven; the sync must stop."""


@dataclass(frozen=True)
class PageRequest:
    start: str  # inclusive, `YYYY-MM-DD HH:MM:SS` UTC
    end: str  # inclusive
    offset: int = 0
    sort: Optional[str] = "date_updated"  # None leaves Order Desk's default order
    descending: bool = False
    limit: Optional[int] = None  # None: the configured page size

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"modified_start_date": self.start, "modified_end_date": self.end}
        if self.sort:
            params.update(order_by=self.sort, order="desc" if self.descending else "asc")
        if self.offset:
            params["offset"] = self.offset
        if self.limit:
            params["limit"] = self.limit
        return params


@dataclass
class _Probe:
    """What the sort probe needs to judge its answers, and where paging goes on if they confirm the sort."""

    start: str
    versions: set  # (id, date_updated) of the probed page's orders
    first_id: str
    first: str  # the page's first and last seconds
    last: str
    checkpoint: Optional[str]
    mode: str
    planned: Optional[PageRequest]
    floor: Optional[PageRequest]  # one order before the page's first second, if the window starts earlier
    range_total: Optional[int]  # orders in the probed page's window (its total_records)
    confirms: bool = True


class OrderPager:
    """A state machine: `next_request` says what to ask for, `accept` takes the answer.

    `accept` returns the orders not handed out before in this sync (modulo real updates, which come
    back as new versions) and moves `checkpoint`: restarting a sync from it, inclusively, skips nothing.
    """

    def __init__(self, start: str, end: str, page_size: int, logger: Optional[logging.Logger] = None) -> None:
        self._end = end
        self._page_size = page_size
        self._logger = logger or logging.getLogger("airbyte")
        self.checkpoint: Optional[str] = None
        self._mode = KEYSET
        self._request: Optional[PageRequest] = PageRequest(start, end) if start <= end else None
        # keyset: ids already handed out whose date_updated is the boundary second
        self._boundary_second: Optional[str] = None
        self._boundary_ids: set[str] = set()
        # second mode: the second being paged by offset and what its passes saw
        self._resume_mode = KEYSET
        self._second_ids: set[str] = set()
        self._stable_total: Optional[int] = None
        self._stable_ids: set[str] = set()
        self._pass_ids: set[str] = set()
        self._previous_pass_ids: Optional[set[str]] = None
        self._passes = 0
        # the sort probe: verified once per sync, before the first checkpoint
        self._sort_verified = False
        self._probe: Optional[_Probe] = None
        # (id, date_updated) of orders handed out before a fallback re-reads their window
        self._handed_out: set[tuple[str, str]] = set()
        self._range_total: Optional[int] = None  # orders in [second, end] when second mode began
        # window mode
        self._window_span = timedelta(days=1)

    @property
    def next_request(self) -> Optional[PageRequest]:
        return self._request

    @property
    def mode(self) -> str:
        return self._mode

    def accept(
        self, orders: Sequence[Mapping[str, Any]], total_records: Optional[int], limit: Optional[int] = None
    ) -> list[Mapping[str, Any]]:
        request = self._request
        if request is None:
            raise RuntimeError("no request is pending")
        page_limit = min(self._page_size, limit or self._page_size)
        keys = [api_time_key(order.get("date_updated"), order) for order in orders]
        if self._mode == KEYSET:
            return self._accept_keyset(request, orders, keys, total_records, page_limit)
        if self._mode == SORT_PROBE:
            return self._accept_probe(orders, keys, total_records)
        if self._mode == SECOND_PASS:
            fresh = self._accept_second(request, orders, total_records, page_limit)
        else:
            fresh = self._accept_window(request, orders, keys, total_records, page_limit)
        if self._handed_out:  # after a fallback from keyset mode
            fresh = [o for o in fresh if (_order_id(o), api_time_key(o.get("date_updated"), o)) not in self._handed_out]
        return fresh

    # keyset mode

    def _accept_keyset(self, request: PageRequest, orders, keys, total, page_limit) -> list:
        is_last = _is_last_page(0, len(orders), total, page_limit)
        if not is_last and any(a > b for a, b in zip(keys, keys[1:])):
            self._logger.warning("Order Desk did not sort orders by date_updated; reading in windows that fit one page instead.")
            self._start_window_mode(request.start, total or len(orders))
            return []
        fresh = self._drop_boundary_repeats(orders, keys)
        if is_last:
            self._advance_checkpoint(max(keys) if keys else None)
            self._request = None
            return fresh
        if keys[0] == keys[-1]:
            # The whole page is one second, and there is more: page that second by offset.
            self._start_second_mode(keys[0], already_seen={_order_id(o) for o in orders} | self._boundary_ids_at(keys[0]))
            self._range_total = total
            checkpoint = None
        else:
            checkpoint = keys[-1]
            self._boundary_second = checkpoint
            self._boundary_ids = {_order_id(o) for o, k in zip(orders, keys) if k == checkpoint}
            self._request = PageRequest(checkpoint, self._end)
        if self._sort_verified:
            self._advance_checkpoint(checkpoint)
        else:
            self._probe_sort(request, orders, keys, checkpoint, total)
        return fresh

    # sort probe

    def _probe_sort(self, request: PageRequest, orders, keys, checkpoint: Optional[str], total: Optional[int]) -> None:
        """Whether Order Desk honours `order_by` is undocumented, and a page can look sorted by chance.
        So before the first checkpoint, two questions about the window of the first full page. Sorted
        descending from the page's first second, does it answer with an order at or after the page's last
        second that is not the page's first (the default order gives that one twice)? And is there no
        order before the page's first second (the default order, newest first, starts past the oldest)?
        The descending answer's total says that for free when it equals the page's; else one more order
        is asked for. Any other answer means the range is read in windows that each fit one page."""
        versions = {(_order_id(o), k) for o, k in zip(orders, keys)}
        floor = None
        if keys[0] > request.start:
            floor = PageRequest(request.start, format_api_time(parse_api_time(keys[0]) - SECOND), 0, "date_updated", limit=1)
        self._probe = _Probe(
            request.start, versions, _order_id(orders[0]), keys[0], max(keys), checkpoint, self._mode, self._request, floor, total
        )
        self._mode = SORT_PROBE
        self._request = PageRequest(keys[0], request.end, 0, "date_updated", descending=True, limit=1)

    def _accept_probe(self, orders, keys, total) -> list:
        probe: _Probe = self._probe
        if self._request.descending:
            latest = (_order_id(orders[0]), keys[0]) if orders else None
            if latest is None or latest[1] < probe.last:
                return self._sort_not_confirmed(probe)
            if probe.first == probe.last == latest[1]:
                # A page of one second answered by an order of that second: an honoured sort says so when
                # nothing follows the second (ties come in any order), an ignored one when it starts the
                # default order. Go on only if nothing precedes the second, and probe again later.
                probe.confirms = False
            elif latest[0] == probe.first_id:
                return self._sort_not_confirmed(probe)
            nothing_before = total is not None and total == probe.range_total
            if probe.floor is not None and not nothing_before:
                self._request = probe.floor
                return []
        elif orders or (total or 0) > 0:
            return self._sort_not_confirmed(probe)
        self._sort_verified = probe.confirms  # if not, the next full keyset page is probed again
        self._mode, self._request = probe.mode, probe.planned
        if probe.confirms:
            self._advance_checkpoint(probe.checkpoint)
        return []

    def _sort_not_confirmed(self, probe: _Probe) -> list:
        self._logger.warning(
            "Could not confirm that Order Desk sorts orders by date_updated; reading in windows that each fit "
            "one page instead (slower; nothing is skipped)."
        )
        self._boundary_second, self._boundary_ids = None, set()
        self._handed_out |= probe.versions  # the probed page went out already; don't hand it out again
        self._start_window_mode(probe.start, probe.range_total or len(probe.versions))
        return []

    def _drop_boundary_repeats(self, orders, keys) -> list:
        if not self._boundary_ids:
            return list(orders)
        boundary = self._boundary_second
        return [o for o, k in zip(orders, keys) if k != boundary or _order_id(o) not in self._boundary_ids]

    def _boundary_ids_at(self, second: str) -> set[str]:
        return set(self._boundary_ids) if second == self._boundary_second else set()

    # second mode

    def _start_second_mode(self, second: str, already_seen: set[str]) -> None:
        self._resume_mode = self._mode
        self._mode = SECOND_PASS
        self._second_ids = already_seen
        self._range_total = None
        self._stable_total, self._stable_ids = None, set()
        self._pass_ids, self._previous_pass_ids = set(), None
        self._passes = 1
        # Within one second every order has the same date_updated, so sort by id: ties under an offset
        # come back in the same order on every page, as far as Order Desk honours `order_by` at all.
        sort = "id" if self._resume_mode == KEYSET else None
        self._request = PageRequest(second, second, 0, sort)

    def _accept_second(self, request: PageRequest, orders, total, page_limit) -> list:
        ids = [_order_id(o) for o in orders]
        # While the total stays the same no order has left the second (orders only ever leave a past
        # second), so the ids seen on all pages since the total last changed are of one fixed set.
        if total != self._stable_total:
            self._stable_total, self._stable_ids = total, set(ids)
        else:
            self._stable_ids.update(ids)
        self._pass_ids.update(ids)
        fresh = [o for o, i in zip(orders, ids) if i not in self._second_ids]
        self._second_ids.update(ids)
        if not _is_last_page(request.offset, len(orders), total, page_limit):
            self._request = PageRequest(request.start, request.end, request.offset + len(orders), request.sort)
            return fresh
        if total is not None:
            complete = len(self._stable_ids) >= total
        else:
            # Without a total, only two whole passes that saw the same orders prove nothing moved.
            complete = self._pass_ids == self._previous_pass_ids
            self._previous_pass_ids = self._pass_ids
        self._pass_ids = set()
        if not complete:
            self._passes += 1
            if self._passes > MAX_PASSES_OVER_ONE_SECOND:
                raise PagingError(
                    f"The orders updated at {request.start} UTC kept changing while they were read "
                    f"({MAX_PASSES_OVER_ONE_SECOND} passes). Run the sync again later."
                )
            self._logger.info(f"Orders at {request.start} UTC changed while being read; reading that second again.")
            self._request = PageRequest(request.start, request.end, 0, request.sort)
            return fresh
        self._advance_checkpoint(request.start)
        self._boundary_second, self._boundary_ids = None, set()
        after = format_api_time(parse_api_time(request.start) + SECOND)
        self._mode = self._resume_mode
        # Orders only ever leave a past window, so if the second alone holds as many orders as the
        # whole range did when the second was reached, nothing follows it.
        nothing_after = self._range_total is not None and total is not None and total >= self._range_total
        if after > self._end or nothing_after:
            self._request = None
        elif self._mode == WINDOW:
            self._request = self._window_from(after)
        else:
            self._request = PageRequest(after, self._end)
        return fresh

    # window mode

    def _start_window_mode(self, start: str, total_in_range: int) -> None:
        self._mode = WINDOW
        span = parse_api_time(self._end) - parse_api_time(start) + SECOND
        self._window_span = max(SECOND, span * (WINDOW_FILL * self._page_size / max(total_in_range, 1)))
        self._request = self._window_from(start)

    def _window_from(self, start: str) -> PageRequest:
        end = min(format_api_time(parse_api_time(start) + self._window_span - SECOND), self._end)
        return PageRequest(start, max(start, end), 0, sort=None)

    def _accept_window(self, request: PageRequest, orders, keys, total, page_limit) -> list:
        # Without a total, only a short page proves the window fit in it.
        count = total if total is not None else (len(orders) if len(orders) < page_limit else None)
        if count is not None and len(orders) >= count:
            self._advance_checkpoint(request.end)
            growth = 4.0 if count == 0 else min(4.0, max(1.0, WINDOW_FILL * self._page_size / count))
            self._window_span = max(SECOND, self._window_span * growth)
            after = format_api_time(parse_api_time(request.end) + SECOND)
            self._request = None if after > self._end else self._window_from(after)
            return self._drop_boundary_repeats(orders, keys)
        if request.start == request.end:
            self._start_second_mode(request.start, already_seen=self._boundary_ids_at(request.start))
            return []
        shrink = WINDOW_FILL * page_limit / count if count else 0.5
        self._window_span = max(SECOND, self._window_span * shrink)
        self._request = self._window_from(request.start)
        return []

    def _advance_checkpoint(self, key: Optional[str]) -> None:
        if key is not None and (self.checkpoint is None or key > self.checkpoint):
            self.checkpoint = key


def _is_last_page(offset: int, returned: int, total: Optional[int], page_limit: int) -> bool:
    if returned == 0:
        return True
    if total is not None:
        return offset + returned >= total
    return returned < page_limit


def _order_id(order: Mapping[str, Any]) -> str:
    return str(order.get("id"))


def utc_now_key() -> str:
    return format_api_time(datetime.now(timezone.utc))


def offset_passes(
    fetch: Callable[[int], tuple[list[Mapping[str, Any]], Optional[int]]],
    page_size: int,
    logger: logging.Logger,
    key: Callable[[Mapping[str, Any]], Any] = lambda row: str(row.get("id")),
) -> Iterator[list[Mapping[str, Any]]]:
    """Pages a list that only offers offsets (inventory), yielding each page as it comes.

    The list is read again when a pass cannot be proven complete: a removed row shifts later rows
    back and one is skipped, but then the pass sees fewer distinct rows than the total it reported,
    or the total changes. Callers drop rows seen in an earlier pass.
    """
    for _ in range(MAX_PASSES_OVER_ONE_SECOND):
        offset, first_total, changed, seen = 0, None, False, set()
        while True:
            rows, total = fetch(offset)
            yield rows
            seen.update(key(row) for row in rows)
            first_total = total if first_total is None else first_total
            changed = changed or total != first_total
            if _is_last_page(offset, len(rows), total, page_size):
                break
            offset += len(rows)
        if total is None or (not changed and len(seen) >= total):
            return
        logger.info("The list changed while it was read; reading it again to make sure nothing was skipped.")
    raise PagingError(
        f"The list kept changing while it was read ({MAX_PASSES_OVER_ONE_SECOND} passes). Run the sync again later."
    )
