"""Child rows whose id is part of their primary key: an order whose items or shipments lack ids, or repeat one,
fails with a message naming the order, since a deduplicating destination would merge those rows."""

from __future__ import annotations

from typing import Any

import pytest

from source_orderdesk.rows import OrderRows, compile_plan
from source_orderdesk.timestamps import PayloadError

PLANS = {table: compile_plan({"properties": {}}) for table in ("order_items", "order_items_variation_list", "order_shipments")}


def _order(**collections: Any) -> dict[str, Any]:
    return {"id": "48120337", "date_updated": "2024-03-05 14:02:19", **collections}


@pytest.mark.parametrize(
    "table, key, elements, problem",
    [
        ("order_items", "order_items", [{"id": "1"}, {"name": "no id"}], "order_items[1] has no id"),
        ("order_items", "order_items", [{"id": ""}], "order_items[0] has no id"),
        ("order_items", "order_items", [{"id": "7"}, {"id": 7}], "order_items[1]: the id 7 appears twice in the order"),
        (
            "order_items_variation_list",
            "order_items",
            [{"id": None, "variation_list": {"Size": "M"}}],
            "order_items[0] has no id",
        ),
        ("order_shipments", "order_shipments", [{"id": "9"}, {"id": "9"}], "appears twice in the order"),
    ],
)
def test_given_child_elements_without_unique_ids_when_split_then_the_order_fails_naming_it_and_the_element(
    table: str, key: str, elements: list, problem: str
) -> None:
    with pytest.raises(PayloadError) as raised:
        OrderRows(PLANS).rows(table, _order(**{key: elements}))

    assert str(raised.value).startswith("Order 48120337: ")
    assert problem in str(raised.value)


def test_given_items_with_distinct_ids_when_split_then_each_is_a_row_keyed_by_its_order() -> None:
    rows = OrderRows(PLANS).rows("order_items", _order(order_items=[{"id": "1"}, {"id": "2"}]))

    assert [(row["order_id"], row["id"]) for row in rows] == [("48120337", "1"), ("48120337", "2")]
