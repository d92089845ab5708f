"""Builds single raw order payloads, shaped like the real API (§4 of the API notes).

The factory owns the id sequences (order, item, shipment), a pool of repeat
customers, and one seeded RNG, so a given sequence of calls always yields the
same payloads. It also carries the quirks an extractor must survive:

* ids, `customer_id`, `email_count` and `source_id` are strings; `folder_id` is an int;
* money is a JSON number (an int when whole, as PHP prints it), but some item
  prices are numeric strings;
* discount amounts and shipment weight/cost/print_status/order_id/store_id are strings;
* `""` instead of null, `[]` instead of an empty map;
* dates are UTC `YYYY-MM-DD HH:MM:SS`, `date_shipped` is date-only.
"""

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from orderdesk_sandbox import vocabulary as vocab
from orderdesk_sandbox.dates import format_epoch, format_epoch_date
from orderdesk_sandbox.dice import Dice, weighted_table

DAY = 86_400

# A line that is not in the inventory (custom charge), as carts create them.
_CUSTOM_ITEMS = (
    ("Gift Wrap", 4.5, 0.1, "noship"),
    ("Rush Handling", 10, 0, "noship"),
    ("Engraving «Initials»", 7.25, 0, "noship"),
)


def money(value: float) -> int | float:
    """Round to cents; whole amounts become ints, as PHP's json_encode prints them."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def as_number(value: object) -> float:
    """Numeric value of a number or numeric string (item prices can be either)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


@dataclass
class IdSequence:
    """Next free ids. Order Desk ids look like global auto-increments."""

    next_order: int = 48_120_000
    next_item: int = 99_187_000
    next_shipment: int = 770_000

    def take_order(self, dice: Dice) -> str:
        # Gaps between ids: other stores share the same sequence.
        self.next_order += dice.between(1, 7)
        return str(self.next_order)

    def take_item(self) -> str:
        self.next_item += 1
        return str(self.next_item)

    def take_shipment(self) -> str:
        self.next_shipment += 1
        return str(self.next_shipment)

    def observe(self, order: dict) -> None:
        """Move the sequences past the ids of an order inserted from outside."""
        self.next_order = max(self.next_order, _int_or_zero(order.get("id")))
        items = order.get("order_items")
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    self.next_item = max(self.next_item, _int_or_zero(item.get("id")))
        shipments = order.get("order_shipments")
        if isinstance(shipments, list):
            for shipment in shipments:
                if isinstance(shipment, dict):
                    self.next_shipment = max(self.next_shipment, _int_or_zero(shipment.get("id")))


def _int_or_zero(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


class CatalogueLine(NamedTuple):
    """One sellable variant: what an order line copies from the inventory."""

    name: str
    code: str
    price: float
    weight: float
    delivery_type: str
    variations: tuple[tuple[str, str], ...]  # e.g. (("Size", "Medium"), ("Color", "Green"))


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    company: str
    email: str
    phone: str
    address: dict  # shipping-style address (with address3/address4)
    number: int  # stable per customer; carts derive their customer_id from it


class OrderFactory:
    """Makes realistic orders, items, shipments and notes from one seeded Dice."""

    def __init__(
        self,
        seed: int,
        store_id: str,
        catalogue: list[CatalogueLine],
        return_address: dict,
        ids: IdSequence | None = None,
    ):
        self.dice = Dice(seed)
        self.store_id = store_id
        self.ids = ids or IdSequence()
        self.return_address = return_address
        self.catalogue = catalogue  # order lines are drawn from what the store sells
        self.customers: list[Customer] = []

    # ----------------------------------------------------------------- orders

    def new_order(
        self,
        order_id: str,
        added: int,
        updated: int,
        folder_id: int | None = None,
        customer: Customer | None = None,
        email_count: int = 1,
    ) -> dict:
        """One complete order. `added`/`updated` are Unix times with added <= updated."""
        dice = self.dice
        customer = customer or self.pick_customer()
        source_name = dice.pick(_SOURCE_TABLE)
        if folder_id is None:
            folder_id = self._pick_folder(added, updated)

        items = [self.new_item() for _ in range(dice.pick(_ITEM_COUNT_TABLE))]
        ships_goods = any(item["delivery_type"] == "ship" for item in items)
        shipments = []
        if ships_goods and folder_id in _FOLDERS_WITH_SHIPMENTS:
            shipments = [
                self.new_shipment(order_id, _between(dice, added, updated)) for _ in range(dice.pick(_SHIPMENT_COUNT_TABLE))
            ]
        payment_type = "" if source_name == "Amazon" else dice.pick(vocab.PAYMENT_TYPES)

        order = {
            "id": order_id,
            "email": customer.email,
            "shipping_method": dice.pick(vocab.SHIPPING_METHODS) if ships_goods else "",
            "quantity_total": 0,
            "weight_total": 0,
            "product_total": 0,
            "shipping_total": 0,
            "handling_total": dice.pick(_HANDLING_TABLE),
            "tax_total": 0,
            "discount_total": 0,
            "order_total": 0,
            "cc_number_masked": _masked_card(dice, payment_type),
            "cc_exp": _card_expiry(dice, payment_type, added),
            "processor_response": _processor_response(dice, payment_type),
            "payment_type": payment_type,
            "payment_status": dice.pick(_PAYMENT_STATUS_TABLE),
            "processor_balance": 0,
            "refund_total": 0,
            "customer_id": _customer_id(source_name, customer),
            "email_count": str(email_count),
            "ip_address": "" if source_name == "Amazon" else _ip_address(dice),
            "tag_color": "",
            "source_name": source_name,
            "source_id": _source_id(dice, source_name, order_id),
            "fulfillment_name": "",
            "fulfillment_id": "",
            "tag_name": "",
            "folder_id": folder_id,
            "date_added": format_epoch(added),
            "date_updated": format_epoch(updated),
            "shipping": customer.address,
            "customer": _billing_address(dice, customer),
            "return_address": self.return_address if dice.chance(0.9) else _EMPTY_RETURN_ADDRESS,
            "checkout_data": _checkout_data(dice),
            "order_metadata": _order_metadata(dice, source_name),
            "discount_list": [_discount(dice) for _ in range(dice.pick(_DISCOUNT_COUNT_TABLE))],
            "order_notes": [self.new_note(_between(dice, added, updated)) for _ in range(dice.pick(_NOTE_COUNT_TABLE))],
            "order_items": items,
            "order_shipments": shipments,
        }
        if dice.chance(0.04):
            order["fulfillment_name"], order["fulfillment_id"] = "Printful", str(dice.between(10**7, 10**8 - 1))
        if dice.chance(0.02):
            order["tag_name"], order["tag_color"] = "VIP", "#f0ad4e"
        recompute_totals(order, shipping=_shipping_charge(dice, ships_goods))
        _apply_refund(dice, order)
        return order

    def new_item(self) -> dict:
        dice = self.dice
        if not self.catalogue or dice.chance(0.05):
            name, price, weight, delivery_type = dice.pick(_CUSTOM_ITEMS)
            code, variations, category = "", (), ""
        else:
            name, code, price, weight, delivery_type, variations = dice.pick(self.catalogue)
            category = dice.pick(vocab.CATEGORY_CODES)
        # Some carts send prices as strings ("10", "19.99"); the docs show both.
        shown_price: object = price  # catalogue prices are already rounded to cents
        if dice.chance(0.06):
            shown_price = f"{price:.2f}" if price != int(price) else str(int(price))
        return {
            "id": self.ids.take_item(),
            "name": name,
            "price": shown_price,
            "quantity": dice.pick(_QUANTITY_TABLE),
            "weight": weight,
            "code": code,
            "delivery_type": delivery_type,
            "category_code": category,
            "fulfillment_method": dice.pick(vocab.FULFILLMENT_METHODS),
            "variation_list": dict(variations) if variations and dice.chance(0.85) else [],
            "metadata": _item_metadata(dice, code),
        }

    def new_shipment(self, order_id: str, at: int) -> dict:
        dice = self.dice
        carrier, method, url_template = dice.pick(vocab.CARRIERS)
        tracking = "n/a" if dice.chance(0.05) else f"94001118992231{dice.between(10**7, 10**8 - 1)}"
        return {
            "id": self.ids.take_shipment(),
            "order_id": order_id,
            "store_id": self.store_id,
            "tracking_number": tracking,
            "carrier_code": carrier,
            "shipment_method": method,
            "weight": "0" if dice.chance(0.1) else f"{dice.uniform(0.2, 9):.2f}",
            "cost": "" if dice.chance(0.15) else f"{dice.uniform(3.5, 24):.2f}",
            "status": dice.pick(vocab.SHIPMENT_STATUSES),
            "tracking_url": "" if tracking == "n/a" else url_template.format(tracking),
            "label_format": dice.pick(("", "", "PNG", "PDF", "ZPL")),
            "label_image": "",
            "print_status": dice.pick(("0", "1", "1")),
            "order_items": "",
            "cart_shipment_id": "" if dice.chance(0.6) else str(dice.between(10**9, 10**10 - 1)),
            "date_shipped": format_epoch_date(at),
            "date_added": format_epoch(at),
        }

    def new_note(self, at: int) -> dict:
        dice = self.dice
        return {"date_added": format_epoch(at), "username": dice.pick(vocab.NOTE_USERS), "content": dice.pick(vocab.NOTE_TEXTS)}

    # -------------------------------------------------------------- customers

    def pick_customer(self) -> Customer:
        """A new customer, or (a third of the time) a returning one."""
        if self.customers and self.dice.chance(0.35):
            return self.dice.pick(self.customers)
        customer = self._new_customer(len(self.customers) + 1)
        self.customers.append(customer)
        return customer

    def _new_customer(self, number: int) -> Customer:
        dice = self.dice
        first, last = dice.pick(vocab.FIRST_NAMES), dice.pick(vocab.LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}" if _ascii(first) and _ascii(last) else "customer"
        email = f"{local}{number}@{dice.pick(vocab.EMAIL_DOMAINS)}".lower()
        city, state, postal_code, country, phone_prefix = dice.pick(vocab.PLACES)
        phone = f"{phone_prefix}{dice.between(100, 9999):04d}"
        company = dice.pick(vocab.COMPANIES) if dice.chance(0.15) else ""
        address = {
            "first_name": first,
            "last_name": last,
            "company": company,
            "address1": f"{dice.between(1, 2999)} {dice.pick(vocab.STREETS)}",
            "address2": dice.pick(vocab.ADDRESS2),
            "address3": "",
            "address4": "",
            "city": city,
            "state": state,
            "postal_code": postal_code,
            "country": country,
            "phone": phone,
        }
        return Customer(first, last, company, email, phone, address, number)

    def _pick_folder(self, added: int, updated: int) -> int:
        # Orders edited long after arrival, and most orders overall, are done with.
        if updated - added > 20 * DAY or self.dice.chance(0.6):
            return self.dice.pick(_SETTLED_FOLDER_TABLE)
        return self.dice.pick(_OPEN_FOLDER_TABLE)


_SOURCE_TABLE = weighted_table(vocab.SOURCE_NAMES, vocab.SOURCE_WEIGHTS)
_PAYMENT_STATUS_TABLE = weighted_table(vocab.PAYMENT_STATUSES, vocab.PAYMENT_STATUS_WEIGHTS)
_ITEM_COUNT_TABLE = weighted_table(range(1, 11), (40, 22, 12, 8, 6, 4, 3, 2, 2, 1))
_QUANTITY_TABLE = weighted_table((1, 2, 3, 4, 12), (70, 18, 6, 4, 2))
_SHIPMENT_COUNT_TABLE = weighted_table((0, 1, 2), (5, 85, 10))
_DISCOUNT_COUNT_TABLE = weighted_table((0, 1, 2), (70, 25, 5))
_NOTE_COUNT_TABLE = weighted_table((0, 1, 2, 3), (70, 20, 7, 3))
_HANDLING_TABLE = weighted_table((0, 1, 2.5), (85, 10, 5))
_SETTLED_FOLDER_TABLE = weighted_table(
    (vocab.FOLDER_CLOSED, vocab.FOLDER_CANCELED, vocab.FOLDER_WHOLESALE, vocab.FOLDER_RETURNS, vocab.FOLDER_ARCHIVE),
    (85, 6, 3, 3, 3),
)
_OPEN_FOLDER_TABLE = weighted_table(
    (vocab.FOLDER_NEW, vocab.FOLDER_PREPARED, vocab.FOLDER_CLOSED, vocab.FOLDER_CANCELED, vocab.FOLDER_AWAITING_STOCK),
    (35, 25, 30, 3, 7),
)
_FOLDERS_WITH_SHIPMENTS = frozenset({vocab.FOLDER_CLOSED, vocab.FOLDER_PREPARED, vocab.FOLDER_RETURNS, vocab.FOLDER_ARCHIVE})


def recompute_totals(order: dict, shipping: float | None = None) -> None:
    """Derive the read-only totals from items and discounts, like Order Desk does."""
    items = order["order_items"]
    product_total = sum(as_number(item["price"]) * item["quantity"] for item in items)
    weight_total = sum(as_number(item["weight"]) * item["quantity"] for item in items)
    discount_total = sum(as_number(discount["amount"]) for discount in order["discount_list"])
    if shipping is None:
        shipping = as_number(order["shipping_total"])
    taxable = max(product_total - discount_total, 0)
    tax_total = taxable * _tax_rate(order)
    order_total = taxable + shipping + as_number(order["handling_total"]) + tax_total
    order["quantity_total"] = sum(item["quantity"] for item in items)
    order["weight_total"] = money(weight_total)
    order["product_total"] = money(product_total)
    order["shipping_total"] = money(shipping)
    order["discount_total"] = money(discount_total)
    order["tax_total"] = money(tax_total)
    order["order_total"] = money(order_total)
    order["processor_balance"] = money(order_total - as_number(order.get("refund_total", 0)))


def _tax_rate(order: dict) -> float:
    country = order["shipping"]["country"] if isinstance(order.get("shipping"), dict) else ""
    if country == "US":
        return 0.0725
    if country in ("DE", "FR", "GB"):
        return 0.19
    return 0.0


def _apply_refund(dice: Dice, order: dict) -> None:
    status = order["payment_status"]
    total = as_number(order["order_total"])
    if status == "Fully Refunded":
        order["refund_total"] = money(total)
    elif status == "Partially Refunded":
        order["refund_total"] = money(total * dice.pick((0.1, 0.25, 0.5)))
    order["processor_balance"] = money(total - as_number(order["refund_total"]))


def _shipping_charge(dice: Dice, ships_goods: bool) -> float:
    if not ships_goods or dice.chance(0.3):
        return 0
    return dice.pick((4.95, 5.99, 7.5, 9.2, 12, 19.95))


def _between(dice: Dice, start: int, end: int) -> int:
    return start if end <= start else dice.between(start, end)


@cache
def _ascii(text: str) -> str:
    """ASCII letters of a name, for email addresses (accents dropped, CJK gone)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


def _billing_address(dice: Dice, customer: Customer) -> dict:
    """The `customer` address: no address3/address4; usually the shipping address."""
    shipping = customer.address
    if dice.chance(0.75):
        return {key: shipping[key] for key in _CUSTOMER_ADDRESS_KEYS}
    city, state, postal_code, country, _ = dice.pick(vocab.PLACES)
    return {
        "first_name": shipping["first_name"],
        "last_name": shipping["last_name"],
        "company": customer.company or (dice.pick(vocab.COMPANIES) if dice.chance(0.2) else ""),
        "address1": f"{dice.between(1, 2999)} {dice.pick(vocab.STREETS)}",
        "address2": "",
        "city": city,
        "state": state,
        "postal_code": postal_code,
        "country": country,
        "phone": shipping["phone"],
    }


_CUSTOMER_ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
)
_EMPTY_RETURN_ADDRESS = dict.fromkeys(
    ("title", "name", "company", "address1", "address2", "city", "state", "postal_code", "country", "phone"), ""
)


def _masked_card(dice: Dice, payment_type: str) -> str:
    if payment_type not in vocab.CARD_PAYMENT_TYPES:
        return ""
    stars = 11 if payment_type == "American Express" else 12
    return "x" * stars + f"{dice.between(0, 9999):04d}"


def _card_expiry(dice: Dice, payment_type: str, added: int) -> str:
    if payment_type not in vocab.CARD_PAYMENT_TYPES:
        return ""
    year = int(format_epoch_date(added)[:4]) + dice.between(1, 5)
    return f"{dice.between(1, 12):02d}/{year}"


def _processor_response(dice: Dice, payment_type: str) -> str:
    token = f"{int(dice.random() * 2**52):013X}"
    if payment_type in vocab.CARD_PAYMENT_TYPES:
        return f"Stripe: ch_3P{token}"
    if payment_type == "PayPal":
        return f"PayPal: 8{token}"
    if payment_type == "Amazon Pay":
        return f"Amazon Pay: P01-{dice.between(10**6, 10**7 - 1)}-{dice.between(10**6, 10**7 - 1)}"
    return ""


def _ip_address(dice: Dice) -> str:
    # Documentation ranges (RFC 5737) and one IPv6 documentation prefix.
    if dice.chance(0.1):
        return f"2001:db8::{dice.between(1, 0xFFFF):x}"
    return f"{dice.pick(('203.0.113', '198.51.100', '192.0.2'))}.{dice.between(1, 254)}"


def _customer_id(source_name: str, customer: Customer) -> str:
    if source_name in ("Shopify", "BigCommerce"):
        return str(6_012_000_000 + customer.number * 37)
    if source_name in ("WooCommerce", "Etsy"):
        return str(1000 + customer.number)
    if source_name == "eBay":
        return f"{_ascii(customer.first_name).lower() or 'buyer'}_{customer.number}"
    if source_name == "Order Desk" and customer.number % 2:
        return f"cus_{20_000 + customer.number}"
    return ""


def _source_id(dice: Dice, source_name: str, order_id: str) -> str:
    if source_name == "Shopify":
        return f"#{dice.between(1001, 99999)}"
    if source_name == "Amazon":
        return f"11{dice.between(1, 4)}-{dice.between(10**6, 10**7 - 1)}-{dice.between(10**6, 10**7 - 1)}"
    if source_name == "eBay":
        return f"{dice.between(10, 99)}-{dice.between(10000, 99999)}-{dice.between(10000, 99999)}"
    if source_name == "Order Desk":
        return order_id  # blank source ids are filled in with Order Desk's own id
    return str(dice.between(1000, 999_999))


def _checkout_data(dice: Dice) -> dict | list:
    if dice.chance(0.6):
        return []  # PHP serializes an empty map as []
    fields = dice.sample(vocab.CHECKOUT_FIELDS, dice.between(1, 2))
    return {name: dice.pick(values) for name, values in fields}


def _order_metadata(dice: Dice, source_name: str) -> dict | list:
    if dice.chance(0.5):
        return []
    metadata: dict = {"fraud_protection_score": dice.between(0, 99)}  # a number, not a string
    if source_name == "Shopify":
        metadata["shopify_order_gid"] = f"gid://shopify/Order/{dice.between(5_000_000, 5_999_999)}"
    if source_name == "Amazon":
        metadata["amazon_fulfillment_channel"] = dice.pick(("MFN", "AFN"))
        metadata["is_prime"] = dice.between(0, 1)
    if dice.chance(0.2):
        metadata["utm_source"] = dice.pick(("newsletter", "instagram", "google"))
    return metadata


def _discount(dice: Dice) -> dict:
    name, code = dice.pick(vocab.DISCOUNTS)
    return {"name": name, "code": code, "amount": f"{dice.uniform(1, 15):.2f}"}


def _item_metadata(dice: Dice, code: str) -> dict | list:
    if dice.chance(0.65):
        return []
    metadata: dict = {"image": f"https://cdn.example.com/p/{(code or 'custom').lower()}.jpg"}
    if dice.chance(0.5):
        metadata["shopify_line_id"] = str(dice.between(13_370_000, 13_379_999))
    if dice.chance(0.15):
        metadata["personalization"] = dice.pick(("For Zoë ❤", "To Dad, from all of us", "祝你生日快乐"))
    return metadata
