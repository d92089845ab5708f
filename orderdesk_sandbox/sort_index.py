"""A sorted index of orders on one top-level field, kept up to date on every change.

Entries are `(value key, id key, order id)` tuples in ascending order, so ties
on the value are broken by ascending numeric id. Keeping the list sorted (one
bisect + list insert/delete per change) means a mutation costs microseconds and
a query never has to sort the whole store.
"""

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from operator import itemgetter

SortKey = tuple  # (rank, number, text): comparable whatever the JSON type
Entry = tuple  # (SortKey, id SortKey, order id)

_key_of_entry = itemgetter(0)

# Ranks order the JSON types against each other: absent/null/objects first,
# then numbers, then strings. Raw payloads put in by tests can hold any type.
_RANK_OTHER, _RANK_NUMBER, _RANK_TEXT = 0, 1, 2


def value_sort_key(value: object) -> SortKey:
    """Sort key of a field value. Dates sort as text (their format makes that exact)."""
    if isinstance(value, str):
        return (_RANK_TEXT, 0, value)
    if isinstance(value, (int, float)):  # bool is an int: false < true, as in MySQL
        return (_RANK_NUMBER, value, "")
    return (_RANK_OTHER, 0, "")


def id_sort_key(order_id: object) -> SortKey:
    """Order ids are numeric strings: compare them as numbers, odd ids after, as text."""
    text = str(order_id)
    if text.isdigit():
        return (_RANK_NUMBER, int(text), "")
    return (_RANK_TEXT, 0, text)


def text_range_keys(low: str | None, high: str | None) -> tuple[SortKey | None, SortKey | None]:
    """Sort keys bounding an inclusive range of text values (dates)."""
    return (
        value_sort_key(low) if low is not None else None,
        value_sort_key(high) if high is not None else None,
    )


class SortIndex:
    """Orders sorted by one field (ascending, ties by ascending id)."""

    def __init__(self, field: str, values: Iterable[tuple[str, object]]):
        """`values` yields (order id, value of the field) for every order."""
        self.field = field
        self._entry_by_id: dict[str, Entry] = {}
        for order_id, value in values:
            self._entry_by_id[order_id] = (self._key(value, order_id), id_sort_key(order_id), order_id)
        self.entries: list[Entry] = sorted(self._entry_by_id.values())

    def _key(self, value: object, order_id: str) -> SortKey:
        return id_sort_key(order_id) if self.field == "id" else value_sort_key(value)

    def entry(self, order_id: str) -> Entry:
        return self._entry_by_id[order_id]

    def put(self, order_id: str, value: object) -> None:
        """Insert an order, or move it if its value changed."""
        self.remove(order_id)
        entry = (self._key(value, order_id), id_sort_key(order_id), order_id)
        self._entry_by_id[order_id] = entry
        insort(self.entries, entry)

    def remove(self, order_id: str) -> None:
        entry = self._entry_by_id.pop(order_id, None)
        if entry is not None:
            del self.entries[bisect_left(self.entries, entry)]

    def between(self, low: SortKey | None, high: SortKey | None) -> list[Entry]:
        """Entries whose key lies in [low, high] (a missing bound is open)."""
        start = 0 if low is None else bisect_left(self.entries, low, key=_key_of_entry)
        stop = len(self.entries) if high is None else bisect_right(self.entries, high, key=_key_of_entry)
        return self.entries[start:stop]

    def count_between(self, low: SortKey | None, high: SortKey | None) -> int:
        start = 0 if low is None else bisect_left(self.entries, low, key=_key_of_entry)
        stop = len(self.entries) if high is None else bisect_right(self.entries, high, key=_key_of_entry)
        return max(stop - start, 0)
