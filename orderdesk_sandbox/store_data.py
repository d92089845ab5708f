"""Deterministic generation of a whole store: settings, inventory and an order history.

`generate_store(orders, seed)` gives identical payloads for the same size,
seed and anchor time. The history spans the two years before the anchor and
ends `quiet_period_seconds` before it, so a connector that reads up to
"now minus a few minutes" sees every generated order.

Bulk seconds (imports and bulk folder moves) put many orders on one
`date_updated` second, which is what breaks naive offset paging:
* stores of 2,000+ orders: one second holds more than 500 orders (more than a
  maximum page) and three hold 50-300 each (one of them an import, where
  date_added equals date_updated too);
* smaller stores: one second holds about 10% of the orders (at least 12).
"""

import gc
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from orderdesk_sandbox import vocabulary as vocab
from orderdesk_sandbox.dates import format_epoch
from orderdesk_sandbox.order_factory import DAY, CatalogueLine, OrderFactory, money
from orderdesk_sandbox.store import Store, StoreProfile

DEFAULT_STORE_ID = "4471"
DEFAULT_API_KEY = "sandbox-secret-key-0001"
HISTORY_DAYS = 730
DEFAULT_QUIET_PERIOD_SECONDS = 600

# (pack label, SKU suffix, price factor) multiply the catalogue so that big
# stores get a few hundred inventory items.
_PACKS = (("", "", 1.0), (" 2-Pack", "-2PK", 1.9), (" 3-Pack", "-3PK", 2.7), (" Gift Set", "-GS", 1.35))


def generate_store(
    orders: int,
    seed: int,
    anchor: datetime | None = None,
    *,
    store_id: str = DEFAULT_STORE_ID,
    api_key: str = DEFAULT_API_KEY,
    quiet_period_seconds: int = DEFAULT_QUIET_PERIOD_SECONDS,
    clock_offset_seconds: float = 0.0,
    escape_slashes: bool = True,
) -> Store:
    """A store with `orders` orders whose history ends just before `anchor` (default: the server's now)."""
    if orders < 0:
        raise ValueError("orders must be >= 0")
    if anchor is None:
        anchor = datetime.now(timezone.utc) + timedelta(seconds=clock_offset_seconds)
    end = int(anchor.timestamp()) - quiet_period_seconds
    start = end - HISTORY_DAYS * DAY
    rng = random.Random(seed)

    profile = _profile(store_id, api_key)
    catalogue, inventory = _catalogue_and_inventory(rng, min(max(orders // 10, 25), 400), start, end)
    factory = OrderFactory(rng.randrange(2**32), store_id, catalogue, profile.return_address)
    timeline = _timeline(rng, orders, start, end)
    # Customers are drawn first so that each order can carry its final email_count
    # (how many orders share the email) and be serialized as soon as it is built.
    customers = [factory.pick_customer() for _ in timeline]
    orders_per_email = Counter(customer.email for customer in customers)

    def build_orders() -> Iterator[dict]:
        for (added, updated, folder_id), customer in zip(timeline, customers):
            order_id = factory.ids.take_order(factory.dice)
            yield factory.new_order(order_id, added, updated, folder_id, customer, orders_per_email[customer.email])

    # Millions of short-lived containers: the cyclic GC would rescan the growing
    # heap over and over (it found nothing to free here, and doubled the run time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return Store(
            profile,
            inventory,
            build_orders(),
            factory,
            seed=seed,
            clock_offset_seconds=clock_offset_seconds,
            escape_slashes=escape_slashes,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _timeline(rng: random.Random, count: int, start: int, end: int) -> list[tuple[int, int, int | None]]:
    """(date_added, date_updated, forced folder or None) per order, sorted by date_added."""
    span = end - start
    # Density grows towards the end: the shop is growing.
    added = [start + int(span * rng.random() ** 0.8) for _ in range(count)]
    updated = [_last_edit(rng, moment, end) for moment in added]
    folder: list[int | None] = [None] * count
    in_bulk: set[int] = set()
    used_seconds: set[int] = set()

    for size, is_import in _bulk_plan(rng, count):
        if is_import:
            # A CSV import without original dates: added == updated == the import second.
            second = _fresh_second(rng, start + span // 5, end - DAY, used_seconds)
            members = rng.sample([i for i in range(count) if i not in in_bulk], min(size, count - len(in_bulk)))
            for i in members:
                added[i] = updated[i] = second
        else:
            # A bulk folder move (e.g. "close all shipped"): only orders that existed then.
            second, eligible = _second_with_enough_orders(rng, size, added, updated, in_bulk, start, end, used_seconds)
            members = rng.sample(eligible, min(size, len(eligible)))
            target_folder = rng.choice((vocab.FOLDER_CLOSED, vocab.FOLDER_CLOSED, vocab.FOLDER_ARCHIVE, vocab.FOLDER_PREPARED))
            for i in members:
                updated[i] = second
                folder[i] = target_folder
        in_bulk.update(members)

    order = sorted(range(count), key=lambda i: added[i])  # stable: ties keep generation order
    return [(added[i], updated[i], folder[i]) for i in order]


def _bulk_plan(rng: random.Random, count: int) -> list[tuple[int, bool]]:
    """(orders in the second, is an import) for each bulk second."""
    if count >= 2000:
        big = max(501 + rng.randint(5, 60), count // 100)
        return [(big, False), (rng.randint(50, 300), True), (rng.randint(50, 300), False), (rng.randint(50, 300), False)]
    if count > 0:
        return [(min(count, max(12, round(count * 0.10))), False)]
    return []


def _last_edit(rng: random.Random, added: int, end: int) -> int:
    """When an order created at `added` was last edited (never after `end`)."""
    roll = rng.random()
    if roll < 0.25:
        return added  # never touched
    delay = rng.randint(60, 2 * DAY) if roll < 0.75 else rng.randint(2 * DAY, 60 * DAY)
    if added + delay > end:
        return rng.randint(added, end)  # a recent order: edited at some point until now
    return added + delay


def _fresh_second(rng: random.Random, low: int, high: int, used: set[int]) -> int:
    while True:
        second = rng.randint(low, max(low, high))
        if second not in used:
            used.add(second)
            return second


def _second_with_enough_orders(
    rng: random.Random,
    size: int,
    added: list[int],
    updated: list[int],
    in_bulk: set[int],
    start: int,
    end: int,
    used: set[int],
) -> tuple[int, list[int]]:
    """A second in the last ~year at which at least `size` free orders existed and were not edited later.

    Falls back to a second just before the end of the history, when (nearly)
    every order qualifies.
    """
    span = end - start
    for _ in range(20):
        second = _fresh_second(rng, start + span // 2, end - DAY, used)
        eligible = [i for i in range(len(added)) if i not in in_bulk and updated[i] <= second]
        if len(eligible) >= size:
            return second, eligible
        used.discard(second)
    second = _fresh_second(rng, end - 3600, end, used)
    return second, [i for i in range(len(added)) if i not in in_bulk and updated[i] <= second]


def _catalogue_and_inventory(rng: random.Random, size: int, start: int, end: int) -> tuple[list[CatalogueLine], list[dict]]:
    """`size` sellable variants, as order lines copy them and as /inventory-items lists them."""
    candidates = []
    for name, stem, price, weight, delivery_type, axes in vocab.PRODUCTS:
        axis_values = [vocab.SIZES if axis == "Size" else vocab.COLORS for axis in axes]
        for values in itertools.product(*axis_values):
            codes = [vocab.SIZE_CODES.get(value) or vocab.COLOR_CODES[value] for value in values]
            for pack_label, pack_suffix, factor in _PACKS:
                candidates.append(
                    CatalogueLine(
                        name=name + pack_label,
                        code="-".join([stem, *codes]) + pack_suffix,
                        price=money(price * factor),
                        weight=money(weight * (factor if pack_suffix != "-GS" else 1.2)),
                        delivery_type=delivery_type,
                        variations=tuple(zip(axes, values)),
                    )
                )
    rng.shuffle(candidates)
    catalogue = candidates[:size]
    inventory = [_inventory_item(rng, 2510 + position, line, start, end) for position, line in enumerate(catalogue)]
    return catalogue, inventory


def _inventory_item(rng: random.Random, item_id: int, line: CatalogueLine, start: int, end: int) -> dict:
    added = rng.randint(start - 200 * DAY, end - 30 * DAY)
    variation_text = " / ".join(value for _, value in line.variations)
    metadata: dict | list = []
    if rng.random() < 0.4:
        metadata = {"barcode": str(rng.randint(10**11, 10**12 - 1)), "reorder_point": rng.choice((5, 10, 25))}
        if rng.random() < 0.5:
            metadata["supplier"] = rng.choice(vocab.COMPANIES)
    return {
        "id": item_id,  # an int here, unlike order ids
        "name": f"{line.name} - {variation_text}" if variation_text else line.name,
        "code": line.code,
        "price": line.price,
        "cost": money(line.price * rng.uniform(0.3, 0.6)),
        "weight": line.weight,
        "stock": rng.choice((0, rng.randint(-3, 20), rng.randint(1, 500), rng.randint(1, 500))),
        "update_source": rng.choice(vocab.UPDATE_SOURCES),
        "location": rng.choice(vocab.INVENTORY_LOCATIONS),
        "date_added": format_epoch(added),
        "date_updated": format_epoch(rng.randint(added, end)),
        "metadata": metadata,
    }


def _profile(store_id: str, api_key: str) -> StoreProfile:
    """Store name, settings (with the secrets the 2018 docs show) and folders."""
    settings = {
        "app_version": "2.0",
        "locale_code": "en_US",
        "timezone": "America/Chicago",
        "store_country": "US",
        "currency_code": "USD",
        "date_format": "Y-m-d H:i:s",
        "short_date_format": "Y-m-d",
        "orders_per_page": 50,
        "weight_unit": "lb",
        "dimension_unit": "in",
        "default_folder_id": vocab.FOLDER_NEW,
        "inventory_management": "1",
        "normalize_phone_numbers": "0",
        "email_from_name": "Example Outfitters",
        "email_from_address": "orders@example-outfitters.example.com",
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_username": "orders@example-outfitters.example.com",
        "smtp_password": "sandbox-smtp-password-must-not-leak",
        "api_key": api_key,
        "packing_slip_message": "Merci ! Thanks for shopping with us 🌲",
        "shipping_methods": [],
        "all_orders_column_view": [],
        "default_checkout_data_fields": [],
        "tax_settings": [],
        "order_number_prefix": "",
    }
    return_address = {
        "title": "Main Warehouse",
        "name": "Returns Dept",
        "company": "Example Outfitters",
        "address1": "1500 Dock St",
        "address2": "Unit 9",
        "city": "Rockford",
        "state": "IL",
        "postal_code": "61101",
        "country": "US",
        "phone": "815-555-0100",
    }
    return StoreProfile(
        store_id=store_id,
        name="Example Outfitters",
        settings=settings,
        folders=dict(vocab.FOLDERS),
        return_address=return_address,
    )
