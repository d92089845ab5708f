"""The floor: the least a plain Python program spends doing the connector's order work, for comparison.

    python bench/floor.py --config CONFIG.json [--streams orders,order_items,...] > out.jsonl

Plain `requests` + `orjson`, no Airbyte import, no framework. It asks for the same pages as the
connector's keyset paging (date_updated ascending from the start date to Order Desk's clock, with
one descending probe of one order after the first page; the next request starts at the last second
of the page and drops that second's repeats by id; a second holding more than a page is paged by
offset sorted by id), splits each order into the same rows
with the same type coercions (ids to strings, numeric strings to numbers, "" to null, PHP's [] to
{}, timestamps to RFC 3339), and writes each as an Airbyte RECORD line. What it leaves out is what
a floor may: state messages, retries, rate limiting, validation of dates and unexpected shapes.
On exit it prints {"requests": {...}, "records": {...}} to stderr.
"""

import argparse
import sys
import time
from collections import Counter

import orjson
import requests

ORDER_TABLES = (
    "orders",
    "order_items",
    "order_items_variation_list",
    "order_checkout_data",
    "order_metadata",
    "order_discount_list",
    "order_notes",
    "order_shipments",
)
COLLECTIONS = ("checkout_data", "order_metadata", "discount_list", "order_notes", "order_items", "order_shipments")
COLLECTIONS += ("order_history",)

# The declared types of each table's fields (source_orderdesk/schemas), written out by hand.
ORDER_TEXT = (
    "id", "email", "shipping_method", "cc_number_masked", "cc_exp", "processor_response", "payment_type",
    "payment_status", "customer_id", "ip_address", "tag_color", "tag_name", "source_name", "source_id",
    "fulfillment_name", "fulfillment_id", "folder_id",
)  # fmt: skip
ORDER_NUMBERS = (
    "quantity_total", "weight_total", "product_total", "shipping_total", "handling_total", "tax_total",
    "discount_total", "order_total", "processor_balance", "refund_total",
)  # fmt: skip
ORDER_ADDRESSES = ("shipping", "customer", "return_address")
ITEM_TEXT = ("id", "name", "code", "delivery_type", "category_code", "fulfillment_method")
ITEM_NUMBERS = ("price", "quantity", "weight")
SHIPMENT_TEXT = (
    "id", "store_id", "tracking_number", "carrier_code", "shipment_method", "status", "tracking_url",
    "label_format", "label_image", "print_status", "order_items", "cart_shipment_id", "label_shipment_id",
)  # fmt: skip


def text(value):
    if value is None or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if type(value) is int:
        return str(value)
    return orjson.dumps(value).decode()


def number(value):
    if type(value) is not str:
        return value
    value = value.strip()
    if not value:
        return None
    return int(value) if value.lstrip("-").isdigit() else float(value)


def timestamp(value):
    """`2024-03-05 14:02:19` -> `2024-03-05T14:02:19Z`; "" and MySQL's zero dates -> None."""
    if not value or value.startswith("0000") or value[5:7] == "00" or value[8:10] == "00":
        return None
    return value[:10] + "T" + value[11:] + "Z" if len(value) == 19 else value


def day(value):
    if not value or value.startswith("0000"):
        return None
    return value[:10]


def mapping(value):
    """PHP sends an empty map as [] (and a list is a map keyed by position)."""
    if type(value) is dict or value is None:
        return value
    if not value:
        return {}
    return {str(n): v for n, v in enumerate(value)}


def elements(value):
    if not value:
        return []
    return list(value.values()) if type(value) is dict else value


def to_text(row, fields):
    for name in fields:
        value = row.get(name)
        if value is not None and type(value) is not str:
            row[name] = text(value)


def to_numbers(row, fields):
    for name in fields:
        value = row.get(name)
        if type(value) is str:
            row[name] = number(value)


def order_row(order, order_id, updated):
    row = {key: value for key, value in order.items() if key not in COLLECTIONS}
    to_text(row, ORDER_TEXT)
    row["id"] = order_id
    to_numbers(row, ORDER_NUMBERS)
    row["email_count"] = number(row.get("email_count"))
    row["date_added"] = timestamp(row.get("date_added"))
    row["date_updated"] = updated
    for name in ORDER_ADDRESSES:
        address = row.get(name)
        if address is not None:
            address = dict(mapping(address))
            for key, value in address.items():
                if value is not None and type(value) is not str:
                    address[key] = text(value)
            row[name] = address
    return [row]


def item_rows(order, order_id, updated):
    rows = []
    for item in elements(order.get("order_items")):
        row = {**item, "order_id": order_id, "order_date_updated": updated}
        to_text(row, ITEM_TEXT)
        to_numbers(row, ITEM_NUMBERS)
        row["variation_list"] = mapping(row.get("variation_list"))
        row["metadata"] = mapping(row.get("metadata"))
        rows.append(row)
    return rows


def variation_rows(order, order_id, updated):
    rows = []
    for item in elements(order.get("order_items")):
        variations = item.get("variation_list")
        if variations:
            item_id = text(item.get("id"))
            for name, value in mapping(variations).items():
                row = {"order_id": order_id, "order_date_updated": updated, "order_item_id": item_id}
                row["name"], row["value"] = name, text(value)
                rows.append(row)
    return rows


def named_rows(values, order_id, updated):
    if not values:
        return []
    return [
        {"order_id": order_id, "order_date_updated": updated, "name": name, "value": text(value)}
        for name, value in mapping(values).items()
    ]


def checkout_rows(order, order_id, updated):
    return named_rows(order.get("checkout_data"), order_id, updated)


def metadata_rows(order, order_id, updated):
    return named_rows(order.get("order_metadata"), order_id, updated)


def discount_rows(order, order_id, updated):
    rows = []
    for position, discount in enumerate(elements(order.get("discount_list"))):
        row = {**discount, "order_id": order_id, "order_date_updated": updated, "position": position}
        to_text(row, ("name", "code"))
        to_numbers(row, ("amount",))
        rows.append(row)
    return rows


def note_rows(order, order_id, updated):
    rows = []
    for position, note in enumerate(elements(order.get("order_notes"))):
        row = {**note, "order_id": order_id, "order_date_updated": updated, "position": position}
        to_text(row, ("username", "content"))
        row["date_added"] = timestamp(row.get("date_added"))
        rows.append(row)
    return rows


def shipment_rows(order, order_id, updated):
    rows = []
    for shipment in elements(order.get("order_shipments")):
        row = {**shipment, "order_id": order_id, "order_date_updated": updated}
        to_text(row, SHIPMENT_TEXT)
        to_numbers(row, ("weight", "cost"))
        row["date_added"] = timestamp(row.get("date_added"))
        row["date_shipped"] = day(row.get("date_shipped"))
        rows.append(row)
    return rows


ROW_BUILDERS = {
    "orders": order_row,
    "order_items": item_rows,
    "order_items_variation_list": variation_rows,
    "order_checkout_data": checkout_rows,
    "order_metadata": metadata_rows,
    "order_discount_list": discount_rows,
    "order_notes": note_rows,
    "order_shipments": shipment_rows,
}


class Client:
    def __init__(self, config):
        self.base = config["api_url"].rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers.update({"ORDERDESK-STORE-ID": config["store_id"], "ORDERDESK-API-KEY": config["api_key"]})
        self.requests = Counter()

    def get(self, path, params=None):
        self.requests[path] += 1
        response = self.session.get(self.base + path, params=params, timeout=120)
        response.raise_for_status()
        body = orjson.loads(response.content)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body.get('message')}")
        return body


def order_pages(client, start, end, page_size):
    """Yields each page's orders not yet seen, exactly as the connector's keyset paging asks for them."""
    params = {"modified_start_date": start, "modified_end_date": end, "order_by": "date_updated", "order": "asc"}
    params["limit"] = page_size
    boundary, boundary_ids = None, set()
    probed = False
    while True:
        body = client.get("orders", params)
        orders, total = body["orders"], body["total_records"]
        fresh = [o for o in orders if o["date_updated"] != boundary or o["id"] not in boundary_ids]
        if not orders or len(orders) >= total:
            yield fresh
            return
        first, last = orders[0]["date_updated"], orders[-1]["date_updated"]
        if not probed:  # the connector checks once that order_by is honoured: one order, descending, from `first`
            client.get("orders", {**params, "modified_start_date": first, "order": "desc", "limit": 1})
            probed = True
        if first != last:
            yield fresh
            boundary, boundary_ids = last, {o["id"] for o in orders if o["date_updated"] == last}
            params = {**params, "modified_start_date": last}
            continue
        # One second holds more than a page: page it by offset, sorted by id, then go on after it.
        seen = {o["id"] for o in orders} | (boundary_ids if first == boundary else set())
        yield fresh
        second = {"modified_start_date": first, "modified_end_date": first, "order_by": "id", "order": "asc", "limit": page_size}
        offset, in_second = 0, total
        while True:
            body = client.get("orders", {**second, "offset": offset} if offset else second)
            page, in_second = body["orders"], body["total_records"]
            yield [o for o in page if o["id"] not in seen]
            seen.update(o["id"] for o in page)
            offset += len(page)
            if not page or offset >= in_second:
                break
        after = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(_epoch(first) + 1))
        if after > end or in_second >= total:
            return
        boundary, boundary_ids = None, set()
        params = {**params, "modified_start_date": after}


def _epoch(api_time):
    import calendar

    return calendar.timegm(time.strptime(api_time, "%Y-%m-%d %H:%M:%S"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the connector's config JSON (store_id, api_key, api_url, start_date, page_size)")
    parser.add_argument("--streams", default=",".join(ORDER_TABLES))
    parser.add_argument("--startup-only", action="store_true", help="import and exit (to measure start-up)")
    args = parser.parse_args()
    if args.startup_only:
        return 0
    with open(args.config, "rb") as file:
        config = orjson.loads(file.read())
    streams = args.streams.split(",")
    builders = [(name, ROW_BUILDERS[name]) for name in streams]
    start = config.get("start_date") or "2000-01-01"
    start = start.replace("T", " ").replace("Z", "") if len(start) > 10 else start + " 00:00:00"
    client = Client(config)
    end = client.get("test")["current_date_time"]
    out = sys.stdout.buffer
    records = Counter()
    for orders in order_pages(client, start, end, int(config.get("page_size") or 500)):
        emitted_at = int(time.time() * 1000)
        lines = []
        for order in orders:
            updated = order["date_updated"]
            order_id, updated = text(order["id"]), timestamp(updated)
            for name, build in builders:
                for row in build(order, order_id, updated):
                    record = {"stream": name, "data": row, "emitted_at": emitted_at}
                    lines.append(orjson.dumps({"type": "RECORD", "record": record}))
                    records[name] += 1
        if lines:
            lines.append(b"")
            out.write(b"\n".join(lines))
    out.flush()
    sys.stderr.write(orjson.dumps({"requests": client.requests, "records": records}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
