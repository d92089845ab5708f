"""Order payload → rows of the eight order tables, typed as their JSON schemas declare.

The CDK's schema-driven TypeTransformer walks the schema for every record and would cost more CPU
than the rest of a sync together; instead each schema is compiled once into a plan, a function that
looks up each declared field once and converts it only if it is not of its type already. Fields the
schema does not know pass through unchanged, so new Order Desk fields are never dropped.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Callable, Mapping, Optional

import orjson

from .timestamps import ZERO_DATES, PayloadError, is_zero_date, to_rfc3339

Converter = Callable[[Any], Any]
# (field name, types that need no conversion, converter), one per declared property
Step = tuple[str, tuple[type, ...], Converter]
# A table's schema, compiled: `plan(row)` converts `row` in place (callers pass a fresh dict) and returns it.
Plan = Callable[[dict], dict]

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
            if is_zero_date(value):
                return None
    raise FieldError(f"{value!r} is not a date and time")


def _to_date(value: Any) -> Optional[str]:
    if value is None or value == "" or value in ZERO_DATES:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            return to_rfc3339(text)[:10]
        except (ValueError, OverflowError):
            if is_zero_date(text):
                return None
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
    raise FieldError(f"{preview(value)} is not a map of names to values")


def as_list(value: Any) -> list:
    """A collection as a list: `None`/`""` are empty, and PHP sends a list with gaps as a map."""
    if isinstance(value, list):
        return value
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return list(value.values())
    raise FieldError(f"{preview(value)} is not a list")


def preview(value: Any) -> str:
    """A value as quoted in an error message, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Columns that `OrderRows.parent` builds already converted, so child plans need not convert them again.
PARENT_COLUMNS = ("order_id", "order_date_updated")


def _compiled(steps: tuple[Step, ...]) -> Plan:
    """The steps written out as one function, field by field, the way `dataclasses` writes an `__init__`:
    run for every row of a sync, a loop over the steps cost more than the conversions it made.

    A value is converted only when it is not of its declared type already; `type(value) is ...` is
    exact, so a bool never passes for a number. An error names the field.
    """
    namespace: dict[str, Any] = {"FieldError": FieldError, "type": type}
    lines = ["def plan(row):", "    field = None", "    try:"]
    for index, (name, ok, convert) in enumerate(steps):
        key = repr(name)  # a Python literal, whatever the schema names the field
        namespace[f"convert_{index}"] = convert
        namespace[f"ok_{index}"] = ok[0] if len(ok) == 1 else ok
        if not ok:
            needs_conversion = "value is not None"
        elif len(ok) == 1:
            needs_conversion = f"value is not None and type(value) is not ok_{index}"
        else:
            needs_conversion = f"value is not None and type(value) not in ok_{index}"
        lines += [
            f"        value = row.get({key})",
            f"        if {needs_conversion}:",
            f"            field = {key}",
            f"            row[{key}] = convert_{index}(value)",
        ]
    lines += ["        pass", "    except FieldError as error:", '        raise FieldError(f"{field}: {error}") from None']
    lines += ["    return row"]
    exec("\n".join(lines), namespace)  # our own source, built from repr() literals
    return namespace["plan"]


def compile_plan(schema: Mapping[str, Any], skip: tuple[str, ...] = ()) -> Plan:
    """One step per declared property: its name, the types it already arrives in, and a converter."""
    steps = []
    for name, prop in schema.get("properties", {}).items():
        if name in skip:
            continue
        step = _step_for(prop)
        if step is not None:
            steps.append((name, *step))
    return _compiled(tuple(steps))


def _step_for(prop: Mapping[str, Any]) -> Optional[tuple[tuple[type, ...], Converter]]:
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    types.discard("null")
    if types == {"string"}:
        fmt = prop.get("format")
        if fmt == "date-time":
            return (), _to_date_time
        if fmt == "date":
            return (), _to_date
        return (str,), _to_text
    if types == {"number"}:
        return (int, float), _to_number
    if types == {"integer"}:
        return (int,), _to_integer
    if types == {"object"}:
        if "properties" in prop:
            return (), _object_converter(compile_plan(prop))
        return (dict,), as_map
    return None


def _object_converter(plan: Plan) -> Converter:
    def convert(value: Any) -> Optional[dict]:
        mapping = as_map(value)
        return None if mapping is None else plan(dict(mapping))

    return convert


class OrderRows:
    """Splits one order payload into the rows of each order table, given each table's plan."""

    def __init__(self, plans: Mapping[str, Plan]) -> None:
        self._plans = plans
        self._builders = {table: getattr(self, "_" + table) for table in plans}

    @staticmethod
    def parent(order: Mapping[str, Any]) -> dict:
        """The columns every child row carries: its order's id and `date_updated` (the cursor)."""
        try:
            return {"order_id": _to_text(order.get("id")), "order_date_updated": _to_date_time(order.get("date_updated"))}
        except FieldError as error:
            raise _payload_error(order, "orders", error) from None

    def rows(self, table: str, order: Mapping[str, Any], parent: Optional[dict] = None) -> list[dict]:
        """Rows of `table` for `order`; errors name the order, the table and the field."""
        try:
            return self._builders[table](order, self._plans[table], parent or self.parent(order))
        except FieldError as error:
            raise _payload_error(order, table, error) from None

    def _orders(self, order, plan, parent) -> list[dict]:
        row = dict(order)  # a copy and a few pops cost less than a comprehension over every field
        for collection in ORDER_COLLECTIONS:
            row.pop(collection, None)
        return [plan(row)]

    def _order_items(self, order, plan, parent) -> list[dict]:
        return [plan({**item, **parent}) for item in _identified(order, "order_items")]

    def _order_items_variation_list(self, order, plan, parent) -> list[dict]:
        rows = []
        for item in _identified(order, "order_items"):
            variations = item.get("variation_list")
            if not variations:
                continue
            try:
                variations = as_map(variations)
            except FieldError as error:
                raise FieldError(f"order_items.variation_list: {error}") from None
            item_id = _to_text(item.get("id"))
            for name, value in variations.items():
                rows.append(plan({**parent, "order_item_id": item_id, "name": name, "value": _to_text(value)}))
        return rows

    def _order_checkout_data(self, order, plan, parent) -> list[dict]:
        return self._named_values(order, "checkout_data", plan, parent)

    def _order_metadata(self, order, plan, parent) -> list[dict]:
        return self._named_values(order, "order_metadata", plan, parent)

    def _named_values(self, order, key, plan, parent) -> list[dict]:
        values = order.get(key)
        if not values:
            return []
        try:
            values = as_map(values)
        except FieldError as error:
            raise FieldError(f"{key}: {error}") from None
        return [plan({**parent, "name": name, "value": _to_text(value)}) for name, value in values.items()]

    def _order_discount_list(self, order, plan, parent) -> list[dict]:
        return self._positioned(order, "discount_list", plan, parent)

    def _order_notes(self, order, plan, parent) -> list[dict]:
        return self._positioned(order, "order_notes", plan, parent)

    def _positioned(self, order, key, plan, parent) -> list[dict]:
        return [plan({**element, **parent, "position": n}) for n, element in enumerate(_elements(order, key))]

    def _order_ids(self, order, plan, parent) -> list[dict]:
        return [plan({"id": order.get("id"), "date_updated": order.get("date_updated"), "folder_id": order.get("folder_id")})]

    def _order_shipments(self, order, plan, parent) -> list[dict]:
        return [plan({**shipment, **parent}) for shipment in _identified(order, "order_shipments")]


def _payload_error(order: Mapping[str, Any], table: str, error: FieldError) -> PayloadError:
    return PayloadError(
        f"Order {order.get('id')}: {table} field {error}. The order was not replicated; "
        "please report this value to the connector's maintainers."
    )


def _elements(order: Mapping[str, Any], key: str) -> list[dict]:
    elements = order.get(key)
    if not elements:
        return []
    try:
        elements = as_list(elements)
    except FieldError as error:
        raise FieldError(f"{key}: {error}") from None
    for position, element in enumerate(elements):
        if not isinstance(element, dict):
            raise FieldError(f"{key}[{position}]: {preview(element)} is not an object")
    return elements


def _identified(order: Mapping[str, Any], key: str) -> list[dict]:
    """Elements whose id is part of their table's primary key: one without an id, or two with the same id,
    would be merged into one row by a deduplicating destination, so the order fails instead."""
    elements = _elements(order, key)
    seen = set()
    for position, element in enumerate(elements):
        element_id = element.get("id")
        if element_id is None or element_id == "":
            raise FieldError(f"{key}[{position}] has no id")
        if str(element_id) in seen:
            raise FieldError(f"{key}[{position}]: the id {element_id!r} appears twice in the order")
        seen.add(str(element_id))
    return elements
