"""Plans the `/orders` requests of one sync so that no order is skipped, even while orders change.

Order Desk pages by offset only. Offset paging over a date window loses rows when an order in the
window is updated mid-sync: it leaves the window, every later row shifts one place down, and the
row at the next page boundary is never returned. So offsets are avoided:

* keyset mode (normal): ask for `date_updated` ascending from a start second, offset 0. The next
  request starts at the last second of the page, so rows can only be re-read, never skipped;
  re-read rows of that boundary second are dropped by id.
* second mode: when one second holds more orders than a page (bulk imports), that single second is
  paged by offset, pass after pass, until the pages prove that every order still in it was read (see
  `_SecondReads`). Past seconds only lose rows (an update moves an order to "now"), so while orders
  keep leaving, each pass shrinks the second and passes go on; only passes in which it did not shrink
  count towards giving up.
* window mode (fallback): if Order Desk ever ignores `order_by` (whether it honours `date_updated` is
  undocumented), the range is cut into date windows of a few pages each. A window is a past range too,
  so it is paged by offset and proven complete exactly as a bulk second is; order does not matter.

Timestamps are Order Desk's `YYYY-MM-DD HH:MM:SS` UTC strings, which sort like the times they name.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from .timestamps import api_time_key, format_api_time, parse_api_time

SECOND = timedelta(seconds=1)
MAX_PASSES_OVER_ONE_SECOND = 10
# Window mode aims at WINDOW_PAGES pages, so that part-filled last pages are a small share of the requests,
# and narrows a window that holds more than twice that, since an order leaving mid-read costs a re-read of
# up to the whole window. Without total_records a window must fit one page, and aims below a full one.
WINDOW_PAGES = 8
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


class _SecondReads:
    """What the pages of one second, read by offset, prove about the orders in it.

    Why it is sound. Two facts: a past second only loses orders (an update moves an order to "now",
    after the sync's upper bound, and a new order is "now" too), and the rows and total of one answer
    describe one moment. Let S(k) be the orders in the second when request k was answered. S only
    shrinks, so an order returned by request k or by any later request is in S(k). Once the distinct
    orders returned since request k are as many as S(k) held, they are all of S(k), and every order
    still in the second (a subset of S(k)) has been read. Neither which orders leave nor the order in
    which rows come back matters. "The total never changed, and as many ids were seen since" is the
    case of k = the first request since the total last changed. Letting k be any request proves the
    second complete under churn too, as long as, since some k, every order that left had been returned
    after k first (orders updated right after being read, say). Nothing more follows from ids and
    totals: an order of S(k) not returned since k may have left, or may still be there unread.

    Without a total, the last page of a pass still sizes the second: the orders before its offset plus
    its rows (at most its offset, if it is empty). A count that grows is impossible for a past second;
    the answers before it are no longer evidence.
    """

    def __init__(self) -> None:
        self._sizes: list[Optional[int]] = []  # per request of this second: how many orders it held, if known
        self._latest: dict[str, int] = {}  # order id -> the last request that returned it
        self._latest_count: list[int] = []  # per request: how many ids it was the last to return
        self._evidence_from = 0  # the first request that is still evidence
        self._last_size: Optional[int] = None
        self.lowest: Optional[int] = None  # the fewest orders any answer counted

    def add(self, ids: Sequence[str], size: Optional[int]) -> bool:
        """Records one answer; says whether it counted fewer orders than any before (real progress)."""
        request = len(self._sizes)
        self._sizes.append(size)
        self._latest_count.append(0)
        for order_id in set(ids):
            if order_id in self._latest:
                self._latest_count[self._latest[order_id]] -= 1
            self._latest[order_id] = request
            self._latest_count[request] += 1
        if size is None or size < 0:  # a negative count is nonsense, and must not pass for progress
            return False
        if self._last_size is not None and size > self._last_size:
            self._evidence_from = request
        self._last_size = size
        shrank = self.lowest is not None and size < self.lowest
        self.lowest = size if self.lowest is None else min(self.lowest, size)
        return shrank

    def complete(self) -> bool:
        """Whether, for some request k, the distinct orders returned since k are as many as k's answer counted."""
        returned_since = 0
        for request in range(len(self._sizes) - 1, self._evidence_from - 1, -1):
            returned_since += self._latest_count[request]
            size = self._sizes[request]
            if size is not None and returned_since >= size:
                return True
        return False


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
        self._reads = _SecondReads()
        self._passes = 0
        self._idle_passes = 0  # passes that ended unproven without the second shrinking
        self._pass_shrank = False
        # the sort probe: verified once per sync, before the first checkpoint
        self._sort_verified = False
        self._probe: Optional[_Probe] = None
        # (id, date_updated) of orders handed out before a fallback re-reads their window
        self._handed_out: set[tuple[str, str]] = set()
        self._range_total: Optional[int] = None  # orders in [second, end] when second mode began
        # window mode
        self._window_span = timedelta(days=1)
        self._warned_outside = False

    def _warn_outside_window(self, request: PageRequest, earliest: str, latest: str) -> None:
        # That the modified_* dates are read as UTC is single-source (older docs said store time); read
        # in another zone, a window misses the orders of the offset's width at one of its ends.
        self._warned_outside = True
        self._logger.warning(
            f"Order Desk answered orders updated from {earliest} to {latest} UTC for the window {request.start} to "
            f"{request.end} UTC: it may be reading dates in the store's time zone. Set the Lookback Window to 1440 "
            "minutes (a day) so that every sync overlaps the previous one by more than any time zone offset, and "
            "please report this to the connector's maintainers."
        )

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
        if keys and not self._warned_outside:
            earliest, latest = min(keys), max(keys)
            if earliest < request.start or latest > request.end:
                self._warn_outside_window(request, earliest, latest)
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
            self._logger.warning("Order Desk did not sort orders by date_updated; reading in date windows instead.")
            self._start_window_mode(request.start, total, len(orders))
            return []
        fresh = self._drop_boundary_repeats(orders, keys)
        if is_last:
            self._advance_checkpoint(max(keys) if keys else None)
            self._request = None
            return fresh
        if keys[0] == keys[-1]:
            # The whole page is one second, and there is more: page that second by offset.
            seen = {_order_id(o) for o in orders} | self._boundary_ids_at(keys[0])
            self._start_second_mode(keys[0], keys[0], already_seen=seen)
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
        is asked for. Any other answer means the range is read in date windows."""
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
            "Could not confirm that Order Desk sorts orders by date_updated; reading in date windows instead "
            "(nothing is skipped)."
        )
        self._boundary_second, self._boundary_ids = None, set()
        self._handed_out |= probe.versions  # the probed page went out already; don't hand it out again
        self._start_window_mode(probe.start, probe.range_total, len(probe.versions))
        return []

    def _drop_boundary_repeats(self, orders, keys) -> list:
        if not self._boundary_ids:
            return list(orders)
        boundary = self._boundary_second
        return [o for o, k in zip(orders, keys) if k != boundary or _order_id(o) not in self._boundary_ids]

    def _boundary_ids_at(self, second: str) -> set[str]:
        return set(self._boundary_ids) if second == self._boundary_second else set()

    # second mode

    def _start_second_mode(self, start: str, end: str, already_seen: set[str]) -> None:
        """Reads [start, end] by offset until proven complete: one bulk second, or one window in window mode."""
        self._resume_mode = self._mode
        self._mode = SECOND_PASS
        self._second_ids = already_seen
        self._range_total = None
        self._reads = _SecondReads()
        self._passes, self._idle_passes, self._pass_shrank = 1, 0, False
        # Within one second every order has the same date_updated, so sort by id: ties under an offset
        # come back in the same order on every page, as far as Order Desk honours `order_by` at all.
        sort = "id" if self._resume_mode == KEYSET else None
        self._request = PageRequest(start, end, 0, sort)

    def _accept_second(self, request: PageRequest, orders, total, page_limit) -> list:
        ids = [_order_id(o) for o in orders]
        fresh = [o for o, i in zip(orders, ids) if i not in self._second_ids]
        self._second_ids.update(ids)
        # A past second cannot grow: its fewest orders so far end the pass, so a growing total cannot stretch it.
        lowest = self._reads.lowest
        end = total if total is None or lowest is None else min(total, lowest)
        is_last = _is_last_page(request.offset, len(orders), end, page_limit)
        size = total if total is not None else (request.offset + len(orders) if is_last else None)
        self._pass_shrank |= self._reads.add(ids, size)
        # Proven at any page, not only at the end of a pass: then the rest of the pass is not needed.
        if not self._reads.complete():
            if is_last:
                self._end_unproven_pass(request)
            else:
                self._request = PageRequest(request.start, request.end, request.offset + len(orders), request.sort)
            return fresh
        self._advance_checkpoint(request.end)
        self._boundary_second, self._boundary_ids = None, set()
        after = format_api_time(parse_api_time(request.end) + SECOND)
        self._mode = self._resume_mode
        # Orders only ever leave a past window, so if the second alone holds as many orders as the
        # whole range did when the second was reached, nothing follows it.
        nothing_after = self._range_total is not None and total is not None and total >= self._range_total
        if after > self._end or nothing_after:
            self._request = None
        elif self._mode == WINDOW:
            if request.start != request.end or (self._reads.lowest or 0) <= self._page_size:  # not a bulk second
                self._fit_window_span(request, self._reads.lowest, True)
            self._request = self._window_from(after)
        else:
            self._request = PageRequest(after, self._end)
        return fresh

    def _end_unproven_pass(self, request: PageRequest) -> None:
        """Reads the second again, or gives up. A pass in which the second shrank made progress: a past second
        only loses orders and has finitely many, so passes that keep shrinking it end (at worst once it fits
        one page, which proves itself). So only passes without progress count towards giving up. Progress
        means a count below every earlier one, so a second first counted at N orders makes progress in at
        most N passes and is read at most N + MAX_PASSES_OVER_ONE_SECOND times, even by an API whose counts
        grow or swing (which a past second cannot do)."""
        if not self._pass_shrank:
            self._idle_passes += 1
        if self._idle_passes >= MAX_PASSES_OVER_ONE_SECOND:
            where = "that second" if request.start == request.end else "those dates"
            raise PagingError(
                f"The orders updated {_span_text(request)} UTC kept changing while they were read ({self._passes} passes, "
                f"{self._idle_passes} of them without an order leaving {where}). Run the sync again later."
            )
        self._passes += 1
        self._pass_shrank = False
        self._logger.info(f"Orders updated {_span_text(request)} UTC changed while being read; reading them again.")
        self._request = PageRequest(request.start, request.end, 0, request.sort)

    # window mode

    def _window_target(self, totals: bool) -> float:
        """The orders a window aims at: a few pages when answers carry total_records, else below one page."""
        return self._page_size * (WINDOW_PAGES if totals else WINDOW_FILL)

    def _start_window_mode(self, start: str, total_in_range: Optional[int], returned: int) -> None:
        self._mode = WINDOW
        span = parse_api_time(self._end) - parse_api_time(start) + SECOND
        orders = max(total_in_range if total_in_range is not None else returned, 1)
        self._window_span = max(SECOND, span * (self._window_target(total_in_range is not None) / orders))
        self._request = self._window_from(start)

    def _window_from(self, start: str) -> PageRequest:
        end = min(format_api_time(parse_api_time(start) + self._window_span - SECOND), self._end)
        return PageRequest(start, max(start, end), 0, sort=None)

    def _fit_window_span(self, request: PageRequest, count: Optional[int], totals: bool) -> None:
        """Sizes the next window as dense as the one just read, up to four times its span. Without totals, a
        window that fit one page is not narrowed: it may have held just below a page, and the next one too."""
        span = parse_api_time(request.end) - parse_api_time(request.start) + SECOND
        growth = 4.0 if not count else min(4.0, max(0.25 if totals else 1.0, self._window_target(totals) / count))
        self._window_span = max(SECOND, span * growth)

    def _accept_window(self, request: PageRequest, orders, keys, total, page_limit) -> list:
        # Without a total, only a short page proves the window fit in it.
        count = total if total is not None else (len(orders) if len(orders) < page_limit else None)
        if count is not None and len(orders) >= count:
            self._advance_checkpoint(request.end)
            self._fit_window_span(request, count, total is not None)
            after = format_api_time(parse_api_time(request.end) + SECOND)
            self._request = None if after > self._end else self._window_from(after)
            return self._drop_boundary_repeats(orders, keys)
        if request.start == request.end or (total is not None and total <= 2 * self._window_target(True)):
            # Read on by offset, as a bulk second is read; this page is the first of that reading.
            self._start_second_mode(request.start, request.end, already_seen=self._boundary_ids_at(request.start))
            return self._accept_second(request, orders, total, page_limit)
        self._request = PageRequest(request.start, self._narrowed_end(request, keys, count), 0, sort=None)
        return []

    def _narrowed_end(self, request: PageRequest, keys: Sequence[str], count: Optional[int]) -> str:
        """Where to end a window that held too many orders. Its page is a sample of it, in Order Desk's default
        order (newest added first), so the sample's dates lean late and only a crowd in it is evidence: a second
        holding a quarter of the page is a bulk second, and the window is cut just before it (or is that second
        alone). Otherwise the window is halved, which also crosses long stretches without orders quickly. Without
        a total, the windows after it start as narrow. Always strictly inside the window, so narrowing ends."""
        start, end = parse_api_time(request.start), parse_api_time(request.end)
        crowded, crowd = Counter(keys).most_common(1)[0] if keys else (None, 0)
        if count is not None and crowd * 4 >= len(keys) > 0:
            cut = parse_api_time(crowded) - SECOND
        else:
            cut = start + (end - start) / 2
            if count is None:
                self._window_span = max(SECOND, (end - start + SECOND) / 2)
        return format_api_time(max(start, min(cut, end - SECOND)))

    def _advance_checkpoint(self, key: Optional[str]) -> None:
        if key is not None and (self.checkpoint is None or key > self.checkpoint):
            self.checkpoint = key


def _is_last_page(offset: int, returned: int, total: Optional[int], page_limit: Optional[int]) -> bool:
    """Whether a page ends its list. Without a total, a page is short only against the limit Order Desk
    applied (it may cap the one asked for, undocumented); with that unknown too (None), read on to an empty page."""
    if returned == 0:
        return True
    if total is not None:
        return offset + returned >= total
    return page_limit is not None and returned < page_limit


def _span_text(request: PageRequest) -> str:
    return f"at {request.start}" if request.start == request.end else f"from {request.start} to {request.end}"


def _order_id(order: Mapping[str, Any]) -> str:
    return str(order.get("id"))


def utc_now_key() -> str:
    return format_api_time(datetime.now(timezone.utc))


def offset_passes(
    fetch: Callable[[int], tuple[list[Mapping[str, Any]], Optional[int], Optional[int]]],
    page_size: int,
    logger: logging.Logger,
    key: Callable[[Mapping[str, Any]], Any] = lambda row: str(row.get("id")),
) -> Iterator[list[Mapping[str, Any]]]:
    """Pages a list that only offers offsets (inventory), yielding each page as it comes.

    Items may be added or deleted at any place while the list is read, and a deletion before the
    offset shifts a row past it unseen. A count does not reveal that: a deletion and an addition keep
    the total, and the new row makes up the distinct ids. So a pass is proven complete only thus:

    * it is one page from offset 0 that holds the whole list: one answer, one moment;
    * or every item it returned that had been returned before is as many as the list held when the
      previous pass ended (its last page's total; without one, its offset plus its rows, which is at
      least the list's size). Such an item was there before that moment and after it, so it was there
      at it (an item's id is not reused after it is deleted); as many of them as the list held are the
      whole list of that moment. So every item present throughout the read was returned.

    Otherwise the list is read again; callers drop rows they have seen. An unchanged multi-page list
    takes two passes. `fetch(offset)` returns a page's rows, its total and the limit Order Desk applied
    (None where the answer lacks them).
    """
    seen: set[Any] = set()  # the ids of all earlier passes
    size_at_previous_end: Optional[int] = None
    for _ in range(MAX_PASSES_OVER_ONE_SECOND):
        offset, returned = 0, set()
        while True:
            rows, total, limit = fetch(offset)
            yield rows
            returned.update(key(row) for row in rows)
            if _is_last_page(offset, len(rows), total, limit):
                break
            offset += len(rows)
        size_at_end = total if total is not None else offset + len(rows)
        if offset == 0 and len(returned) >= size_at_end:
            return
        if size_at_previous_end is not None and len(returned & seen) >= size_at_previous_end:
            return
        if size_at_previous_end is None:
            logger.info("Reading the list once more, to prove that no item was skipped while it was paged.")
        else:
            logger.info("The list changed while it was read; reading it again to make sure nothing was skipped.")
        seen |= returned
        size_at_previous_end = size_at_end
    raise PagingError(
        f"The list kept changing while it was read ({MAX_PASSES_OVER_ONE_SECOND} passes). Run the sync again later."
    )
