"""Realistic edits to an existing order, as staff, rules and carts make them.

Each edit checks that the fields it touches have the expected shape, because
tests also put deliberately broken payloads into the store; an order no edit
applies to still gets a new `date_updated` from the caller.
"""

import random
from collections.abc import Callable

from orderdesk_sandbox import vocabulary as vocab
from orderdesk_sandbox.order_factory import OrderFactory, money, recompute_totals

FOLDER_IDS = tuple(int(folder_id) for folder_id in vocab.FOLDERS)


def modify_order(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> list[str]:
    """Apply one or two random edits in place; return their names (for debugging)."""
    applicable = [edit for edit in _EDITS if edit.applies(order)]
    if not applicable:
        return []
    chosen = rng.sample(applicable, min(len(applicable), rng.choices((1, 2), (70, 30))[0]))
    for edit in chosen:
        edit.apply(order, rng, factory, now)
    return [edit.name for edit in chosen]


class _Edit:
    def __init__(self, name: str, applies: Callable[[dict], bool], apply: Callable[..., None]):
        self.name, self.applies, self.apply = name, applies, apply


def _move_folder(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    order["folder_id"] = rng.choice([fid for fid in FOLDER_IDS if fid != order["folder_id"]])


def _append_note(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    order["order_notes"].append(factory.new_note(now))


def _change_item(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    item = rng.choice(order["order_items"])
    if rng.random() < 0.5:
        item["quantity"] = max(1, item["quantity"] + rng.choice((-1, 1, 2)))
    else:
        new_price = money(float(item["price"]) * rng.choice((0.9, 1.1, 1.25)))
        # Keep the price's JSON type: a numeric-string price stays a string.
        item["price"] = f"{new_price:.2f}" if isinstance(item["price"], str) else new_price
    try:
        recompute_totals(order)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # a hand-made payload without the usual totals: leave them as they are


def _add_shipment(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    order["order_shipments"].append(factory.new_shipment(str(order["id"]), now))
    if isinstance(order.get("folder_id"), int):
        order["folder_id"] = vocab.FOLDER_CLOSED


def _edit_checkout_data(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    if not isinstance(order.get("checkout_data"), dict):
        order["checkout_data"] = {}  # an empty map is `[]` in the payload
    order["checkout_data"]["Delivery Instructions"] = rng.choice(("Leave with neighbour", "Sonnez deux fois 🔔"))


def _change_payment_status(order: dict, rng: random.Random, factory: OrderFactory, now: int) -> None:
    order["payment_status"] = rng.choice([s for s in vocab.PAYMENT_STATUSES if s != order["payment_status"]])


def _has_list(field: str) -> Callable[[dict], bool]:
    return lambda order: isinstance(order.get(field), list)


def _items_are_editable(order: dict) -> bool:
    items = order.get("order_items")
    if not isinstance(items, list) or not items:
        return False
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("quantity"), int):
            return False
        try:
            float(item.get("price"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return True


_EDITS = (
    _Edit("folder move", lambda order: isinstance(order.get("folder_id"), int), _move_folder),
    _Edit("note appended", _has_list("order_notes"), _append_note),
    _Edit("item price/quantity", _items_are_editable, _change_item),
    _Edit("shipment added", _has_list("order_shipments"), _add_shipment),
    _Edit("checkout data", lambda order: isinstance(order.get("checkout_data"), (dict, list)), _edit_checkout_data),
    _Edit("payment status", lambda order: isinstance(order.get("payment_status"), str), _change_payment_status),
)
