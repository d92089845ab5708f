"""`offset_passes`, the paging of lists that only offer offsets (inventory), against an in-memory list."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from source_orderdesk.paging import MAX_PASSES_OVER_ONE_SECOND, PagingError, offset_passes

LOGGER = logging.getLogger("airbyte")


@dataclass
class FakeList:
    """`GET /inventory-items` as far as paging goes: a list in a fixed order, `offset`, a page size and
    `total_records`. A hook runs before every request, so a test can add or delete items mid-read."""

    ids: List[str]
    page_size: int
    omit_total: bool = False
    echo_limit: bool = True
    before_fetch: Optional[Callable[[FakeList, int], None]] = None
    offsets: List[int] = field(default_factory=list)
    _next_id: int = 100_000

    def fetch(self, offset: int) -> Tuple[List[Dict[str, Any]], Optional[int], Optional[int]]:
        if self.before_fetch is not None:
            self.before_fetch(self, len(self.offsets))
        self.offsets.append(offset)
        page = [{"id": item_id} for item_id in self.ids[offset : offset + self.page_size]]
        return page, None if self.omit_total else len(self.ids), self.page_size if self.echo_limit else None

    def add(self) -> str:
        self._next_id += 1
        self.ids.append(str(self._next_id))
        return str(self._next_id)

    @property
    def passes(self) -> int:
        return self.offsets.count(0)


def read(items: FakeList, asked_for: Optional[int] = None) -> List[str]:
    """Every id yielded, in order, repeats included (callers drop those); `asked_for` is the page size the
    connector asks for, by default the one the list applies."""
    return [str(row["id"]) for rows in offset_passes(items.fetch, asked_for or items.page_size, LOGGER) for row in rows]


def numbered(count: int) -> List[str]:
    return [str(n) for n in range(count)]


def test_given_an_item_deleted_and_one_added_between_two_pages_when_reading_then_the_item_shifted_back_is_not_lost() -> None:
    added: List[str] = []

    def delete_item_10_and_add_one_after_page_1(items: FakeList, request: int) -> None:
        if request == 1:
            items.ids.remove("10")
            added.append(items.add())

    items = FakeList(numbered(300), page_size=100, before_fetch=delete_item_10_and_add_one_after_page_1)

    ids = read(items)

    # Page 2 starts at what was index 101: item 100 slid to index 99 and the first pass missed it, while
    # the total stayed 300 and the new item made the distinct ids 300.
    assert "100" in ids
    assert set(numbered(300)) - {"10"} | set(added) <= set(ids)
    # the second pass returned item 100 for the first time, so only a third, with nothing new, proves completeness
    assert items.passes == 3


def test_given_a_list_that_fits_in_one_page_when_reading_then_one_request_suffices() -> None:
    # one answer is one moment: nothing can have shifted, so no second pass is needed
    for count, omit_total in ((40, False), (40, True), (0, False)):
        items = FakeList(numbered(count), page_size=100, omit_total=omit_total)

        assert read(items) == numbered(count)
        assert items.offsets == [0]


def test_given_an_unchanging_list_of_several_pages_when_reading_then_it_is_read_exactly_twice() -> None:
    for omit_total in (False, True):
        items = FakeList(numbered(250), page_size=100, omit_total=omit_total)

        ids = read(items)

        assert items.offsets == [0, 100, 200, 0, 100, 200]
        assert ids == numbered(250) * 2  # every pass's rows are yielded as they come; the stream drops repeats


def test_given_a_list_that_keeps_changing_between_pages_when_reading_then_a_paging_error_stops_the_stream() -> None:
    def delete_the_first_and_add_one_before_every_page(items: FakeList, request: int) -> None:
        if request > 0:
            items.ids.pop(0)
            items.add()

    items = FakeList(numbered(300), page_size=100, before_fetch=delete_the_first_and_add_one_before_every_page)

    with pytest.raises(PagingError, match="kept changing"):
        read(items)
    assert items.passes == MAX_PASSES_OVER_ONE_SECOND


def test_given_a_capped_page_size_and_no_total_when_reading_then_the_echoed_limit_says_where_the_list_ends() -> None:
    items = FakeList(numbered(250), page_size=100, omit_total=True)

    ids = read(items, asked_for=500)

    assert set(ids) == set(numbered(250))
    assert items.offsets == [0, 100, 200, 0, 100, 200]


def test_given_neither_a_total_nor_a_limit_in_the_answers_when_reading_then_paging_goes_on_to_an_empty_page() -> None:
    for count, one_pass in ((40, [0, 40]), (250, [0, 100, 200, 250])):
        items = FakeList(numbered(count), page_size=100, omit_total=True, echo_limit=False)

        ids = read(items, asked_for=500)

        assert set(ids) == set(numbered(count))
        assert items.offsets == one_pass * 2, "a pass ends at an empty page; one more pass proves it complete"
