"""Order payload → rows of the eight order tables, typed as their JSON schemas declare.

The CDK's schema-driven TypeTransformer walks the schema for every record and would cost more CPU
than the rest of a sync together; instead each schema is compiled once into a plan, a map of field
name to converter, and applying it to a row is one dict lookup per declared field. Fields the schema
does not know pass through unchanged, so new Order Desk fields are never dropped.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping, Optional

import orjson

from .timestamps import ZERO_DATES, PayloadError, to_rfc3339

Converter = Callable[[Any], Any]
Plan = dict[str, Converter]

# Collections of an order that become their own tables, and are therefore left out of `orders`.
ORDER_COLLECTIONS = (
    "checkout_data",
    "order_metadata",
    "discount_list",
    "order_notes",
    "order_items",
    "order_shipments",
    "order_history",
)


class FieldError(ValueError):
    """A value that does not fit its declared type; re-raised with the order id and field path."""


def _to_text(value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return orjson.dumps(value).decode()


def _to_number(value: Any) -> Optional[float | int]:
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError(f"{value!r} is not a finite number")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise FieldError(f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise FieldError(f"{value!r} is not a finite number")
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    raise FieldError(f"{value!r} is not a number")


def _to_integer(value: Any) -> Optional[int]:
    number = _to_number(value)
    if number is None or isinstance(number, int):
        return number
    if number.is_integer():
        return int(number)
    raise FieldError(f"{value!r} is not a whole number")


def _to_date_time(value: Any) -> Optional[str]:
    if value is None or value == "" or value in ZERO_DATES:
        return None
    if isinstance(value, str):
        try:
            return to_rfc3339(value)
        except (ValueError, OverflowError):
            pass
    raise FieldError(f"{value!r} is not a date and time")


def _to_date(value: Any) -> Optional[str]:
    if value is None or value == "" or value in ZERO_DATES:
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
            return text
        try:
            return to_rfc3339(text)[:10]
        except (ValueError, OverflowError):
            pass
    raise FieldError(f"{value!r} is not a date")


def as_map(value: Any) -> Optional[dict]:
    """Order Desk (PHP) sends an empty map as `[]`, and a list is a map keyed by position."""
    if isinstance(value, dict):
        return value
    if value is None:
        return None
    if value == "" or value == []:
        return {}
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    raise FieldError(f"{_preview(value)} is not a map of names to values")


def as_list(value: Any) -> list:
    """A collection as a list: `None`/`""` are empty, and PHP sends a list with gaps as a map."""
    if isinstance(value, list):
        return value
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return list(value.values())
    raise FieldError(f"{_preview(value)} is not a list")


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compile_plan(schema: Mapping[str, Any]) -> Plan:
    """One converter per declared property, chosen from its JSON-schema type and format."""
    plan: Plan = {}
    for name, prop in schema.get("properties", {}).items():
        converter = _converter_for(prop)
        if converter is not None:
            plan[name] = converter
    return plan


def _converter_for(prop: Mapping[str, Any]) -> Optional[Converter]:
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    types.discard("null")
    if types == {"string"}:
        fmt = prop.get("format")
        return _to_date_time if fmt == "date-time" else _to_date if fmt == "date" else _to_text
    if types == {"number"}:
        return _to_number
    if types == {"integer"}:
        return _to_integer
    if types == {"object"}:
        if "properties" in prop:
            return _object_converter(compile_plan(prop))
        return as_map
    return None


def _object_converter(plan: Plan) -> Converter:
    def convert(value: Any) -> Optional[dict]:
        mapping = as_map(value)
        return None if mapping is None else apply_plan(plan, mapping)

    return convert


def apply_plan(plan: Plan, raw: Mapping[str, Any]) -> dict:
    row = dict(raw)
    for name, convert in plan.items():
        value = row.get(name)
        if value is not None:
            try:
                row[name] = convert(value)
            except FieldError as error:
                raise FieldError(f"{name}: {error}") from None
    return row


class OrderRows:
    """Splits one order payload into the rows of each order table, given each table's plan."""

    def __init__(self, plans: Mapping[str, Plan]) -> None:
        self._plans = plans

    def rows(self, table: str, order: Mapping[str, Any]) -> Iterator[dict]:
        """Rows of `table` for `order`; errors name the order, the table and the field."""
        try:
            yield from getattr(self, "_" + table)(order, self._plans[table])
        except FieldError as error:
            raise PayloadError(
                f"Order {order.get('id')}: {table} field {error}. The order was not replicated; "
                "please report this value to the connector's maintainers."
            ) from None

    @staticmethod
    def _parent(order: Mapping[str, Any]) -> dict:
        return {"order_id": _to_text(order.get("id")), "order_date_updated": _to_date_time(order.get("date_updated"))}

    def _orders(self, order, plan) -> Iterator[dict]:
        row = {key: value for key, value in order.items() if key not in ORDER_COLLECTIONS}
        yield apply_plan(plan, row)

    def _order_items(self, order, plan) -> Iterator[dict]:
        parent = self._parent(order)
        for item in _elements(order, "order_items"):
            yield apply_plan(plan, {**item, **parent})

    def _order_items_variation_list(self, order, plan) -> Iterator[dict]:
        parent = self._parent(order)
        for item in _elements(order, "order_items"):
            variations = as_map(item.get("variation_list")) or {}
            item_id = _to_text(item.get("id"))
            for name, value in variations.items():
                yield apply_plan(plan, {**parent, "order_item_id": item_id, "name": name, "value": _to_text(value)})

    def _order_checkout_data(self, order, plan) -> Iterator[dict]:
        yield from self._named_values(order, "checkout_data", plan)

    def _order_metadata(self, order, plan) -> Iterator[dict]:
        yield from self._named_values(order, "order_metadata", plan)

    def _named_values(self, order, key, plan) -> Iterator[dict]:
        parent = self._parent(order)
        try:
            values = as_map(order.get(key)) or {}
        except FieldError as error:
            raise FieldError(f"{key}: {error}") from None
        for name, value in values.items():
            yield apply_plan(plan, {**parent, "name": name, "value": _to_text(value)})

    def _order_discount_list(self, order, plan) -> Iterator[dict]:
        yield from self._positioned(order, "discount_list", plan)

    def _order_notes(self, order, plan) -> Iterator[dict]:
        yield from self._positioned(order, "order_notes", plan)

    def _positioned(self, order, key, plan) -> Iterator[dict]:
        parent = self._parent(order)
        for position, element in enumerate(_elements(order, key)):
            yield apply_plan(plan, {**element, **parent, "position": position})

    def _order_shipments(self, order, plan) -> Iterator[dict]:
        parent = self._parent(order)
        for shipment in _elements(order, "order_shipments"):
            yield apply_plan(plan, {**shipment, **parent})


def _elements(order: Mapping[str, Any], key: str) -> list[dict]:
    try:
        elements = as_list(order.get(key))
    except FieldError as error:
        raise FieldError(f"{key}: {error}") from None
    for position, element in enumerate(elements):
        if not isinstance(element, dict):
            raise FieldError(f"{key}[{position}]: {_preview(element)} is not an object")
    return elements
