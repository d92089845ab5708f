"""Odd order payloads (served verbatim through `sb.store.put_raw`): each case either yields records that
all validate against their JSON schemas (format checks included) and keep the payload's values, or
stops the order tables with a clear message that names the order and the field. Which of the two is
asserted per case.

Orders the connector can represent all go into one store and one `python main.py read`; each case
that must stop the sync gets its own store and run. The runs are independent and start two at a time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orderdesk_sandbox import Sandbox

from .support import (
    API_KEY,
    ORDER_TABLES,
    Run,
    assert_clean_output,
    assert_succeeded,
    configured_catalog,
    result_of,
    run_connector,
    run_parallel,
    schema_errors,
)

LONG_TEXT = "Lorem ipsum dolor sit amet, ünïcødé 😀 漢字 שלום. " * 2000  # about 100 KB
Transform = Callable[[dict], dict]


def _fields_missing(order: dict) -> dict:
    for name in ("email", "shipping", "customer", "order_items", "checkout_data", "order_metadata", "order_notes"):
        order.pop(name, None)
    order.pop("order_shipments", None)
    order.pop("discount_list", None)
    order.pop("order_total", None)
    return order


def _nulls(order: dict) -> dict:
    order.update(email=None, order_total=None, shipping=None, customer=None, checkout_data=None, order_notes=None)
    order["order_items"][0].update(price=None, quantity=None, variation_list=None, name=None)
    return order


def _empty_lists_for_maps(order: dict) -> dict:
    order.update(shipping=[], customer=[], return_address=[], checkout_data=[], order_metadata=[])
    for item in order["order_items"]:
        item.update(variation_list=[], metadata=[])
    return order


def _maps_for_lists(order: dict) -> dict:
    order["order_items"] = {str(n): item for n, item in enumerate(order["order_items"])}
    order["order_notes"] = {"0": {"date_added": "2024-05-01 10:00:00", "username": "ann", "content": "first"}}
    order["discount_list"] = {"0": {"name": "WELCOME10", "code": "WELCOME10", "amount": "5.00"}}
    return order


def _numbers_as_strings(order: dict) -> dict:
    order.update(order_total="123.45", quantity_total="3", email_count="4", tax_total="0")
    order["order_items"][0].update(price="19.99", quantity="2", weight="0.5")
    return order


def _strings_as_numbers(order: dict) -> dict:
    order.update(email=12345, customer_id=987, source_id=4711, folder_id=31203, cc_exp=927)
    order["order_items"][0].update(id=int(order["order_items"][0]["id"]), code=4711, name=2024)
    order["checkout_data"] = {"Gift Wrap": 1, "Points": 2.5, "Newsletter": True}
    return order


def _very_long_notes(order: dict) -> dict:
    order["order_notes"] = [{"date_added": "2024-05-01 10:00:00", "username": "ann", "content": LONG_TEXT}]
    order["checkout_data"] = {"Gift Message": LONG_TEXT}
    return order


UNICODE = {
    "email": "ünïcødé@例え.jp",
    "first_name": "😀 José",
    "last_name": "佐藤 太郎",
    "address1": "רחוב הרצל 5 شارع",
    "item": "Tシャツ 👕 — größe M",
    "note": "مرحبا 👋 こんにちは\u200f",
    "key": "طلب خاص 🎁",
}


def _unicode_everywhere(order: dict) -> dict:
    order["email"] = UNICODE["email"]
    order["shipping"] = {**(order.get("shipping") or {}), "first_name": UNICODE["first_name"], "last_name": UNICODE["last_name"]}
    order["shipping"]["address1"] = UNICODE["address1"]
    order["order_items"][0]["name"] = UNICODE["item"]
    order["order_items"][0]["variation_list"] = {UNICODE["key"]: UNICODE["first_name"]}
    order["order_notes"] = [{"date_added": "2024-05-01 10:00:00", "username": "مدير", "content": UNICODE["note"]}]
    order["checkout_data"] = {UNICODE["key"]: UNICODE["note"]}
    return order


def _unknown_new_fields(order: dict) -> dict:
    order["loyalty_tier"] = "gold"
    order["risk"] = {"score": 3, "flags": ["new customer"]}
    order["order_items"][0]["gift_wrap"] = True
    order["order_shipments"] = [
        {**shipment, "carrier_service_level": "express"} for shipment in order.get("order_shipments") or []
    ]
    return order


def _text_for_a_number(order: dict) -> dict:
    order["order_total"] = "12,50"  # a European decimal comma
    return order


def _words_for_a_date(order: dict) -> dict:
    order["date_added"] = "yesterday"
    return order


def _text_for_a_map(order: dict) -> dict:
    order["shipping"] = "same as billing"
    return order


def _text_for_a_list(order: dict) -> dict:
    order["order_items"] = "n/a"
    return order


PASSING: dict[str, Transform] = {
    "fields missing": _fields_missing,
    "null where values are expected": _nulls,
    "[] where maps are expected": _empty_lists_for_maps,
    "maps where lists are expected": _maps_for_lists,
    "numbers as strings": _numbers_as_strings,
    "strings as numbers": _strings_as_numbers,
    "100 KB notes": _very_long_notes,
    "unicode everywhere": _unicode_everywhere,
    "unknown new fields": _unknown_new_fields,
}
# Values the connector cannot represent faithfully: (transform, the field the message must name).
FAILING: dict[str, tuple[Transform, str]] = {
    "text where a number is expected": (_text_for_a_number, "order_total"),
    "words where a date is expected": (_words_for_a_date, "date_added"),
    "text where a map is expected": (_text_for_a_map, "shipping"),
    "text where a list is expected": (_text_for_a_list, "order_items"),
}
BAD_ID_BASE = 99_000_000


def _base_order(sandbox: Sandbox) -> dict:
    """A generated order with several items and a shipment, to be bent into each case."""
    orders = sandbox.store.orders_snapshot()
    return max(orders, key=lambda order: (len(order.get("order_items") or []), len(order.get("order_shipments") or [])))


def _bad_order(base: dict, number: int, transform: Transform) -> dict:
    order = copy.deepcopy(base)
    order["id"] = str(BAD_ID_BASE + number)
    for shipment in order.get("order_shipments") or []:
        shipment["id"] = f"{shipment['id']}{number}"
    return transform(order)


def _job(workdir: Path, cases: list[tuple[int, Transform]]) -> Callable[[], tuple[Run, dict[int, dict]]]:
    def job() -> tuple[Run, dict[int, dict]]:
        with Sandbox.start(orders=20, seed=41, api_key=API_KEY) as sandbox:
            base = _base_order(sandbox)
            served = {}
            for number, transform in cases:
                served[number] = _bad_order(base, number, transform)
                sandbox.store.put_raw(served[number])
            catalog = configured_catalog([*ORDER_TABLES, "order_ids"])
            return run_connector("read", workdir, config=sandbox.config(), catalog=catalog), served

    return job


@pytest.fixture(scope="module")
def payload_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("payloads")
    jobs = {"passing": _job(root / "passing", [(n, transform) for n, transform in enumerate(PASSING.values())])}
    for n, (name, (transform, _)) in enumerate(FAILING.items(), start=len(PASSING)):
        jobs[name] = _job(root / f"failing-{n}", [(n, transform)])
    return run_parallel(jobs, workers=2)


def _rows_of(run: Run, stream: str, order_id: str) -> list[dict]:
    key = "id" if stream in ("orders", "order_ids") else "order_id"
    return [row for row in run.records(stream) if str(row.get(key)) == order_id]


@pytest.fixture(scope="module")
def passing(payload_runs: dict[str, Any]) -> tuple[Run, dict[str, dict]]:
    run, served = result_of(payload_runs["passing"])
    return run, {name: served[n] for n, name in enumerate(PASSING)}


@pytest.mark.parametrize("case", list(PASSING))
def test_given_an_odd_payload_the_connector_can_represent_when_reading_then_every_row_validates_and_keeps_its_values(
    passing: tuple[Run, dict[str, dict]], case: str
) -> None:
    run, served = passing
    assert_succeeded(run)
    order = served[case]
    order_id = order["id"]
    (record,) = _rows_of(run, "orders", order_id)
    rows = {stream: _rows_of(run, stream, order_id) for stream in ORDER_TABLES}
    for stream, stream_rows in rows.items():
        for row in stream_rows:
            assert not schema_errors(stream, row), f"{stream} row of order {order_id}: {schema_errors(stream, row)}"
    CHECKS[case](order, record, rows)


def test_given_odd_payloads_when_reading_then_every_record_of_the_sync_validates_against_its_schema(
    passing: tuple[Run, dict[str, dict]],
) -> None:
    run, _ = passing
    invalid = [(m["stream"], schema_errors(m["stream"], m["data"])) for m in run.record_messages()]
    invalid = [entry for entry in invalid if entry[1]]
    assert not invalid, f"{len(invalid)} records break their schema, e.g. {invalid[:3]}"
    assert {str(row["id"]) for row in run.records("order_ids")} >= {str(BAD_ID_BASE + n) for n in range(len(PASSING))}


@pytest.mark.parametrize("case", list(FAILING))
def test_given_a_value_the_connector_cannot_represent_when_reading_then_the_order_tables_stop_with_a_message_naming_the_order(
    payload_runs: dict[str, Any], case: str
) -> None:
    run, served = result_of(payload_runs[case])
    (order,) = served.values()
    assert_clean_output(run)
    assert run.returncode != 0 and run.errors, run.describe()
    field = FAILING[case][1]
    for error in run.errors:
        assert f"Order {order['id']}" in error["message"], run.describe()
        assert field in error["message"], run.describe()
    assert run.errors[0]["failure_type"] == "system_error", "a value the connector cannot represent is its own failure"
    for message in run.record_messages():
        assert not schema_errors(message["stream"], message["data"])


# ------------------------------------------------------------------------------ per-case checks


def _check_fields_missing(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert record.get("email") is None and record.get("order_total") is None
    assert all(not rows[table] for table in ORDER_TABLES[1:]), "no child rows for absent collections"


def _check_nulls(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    # The CDK leaves null values out of a record's JSON: absent and null mean the same to a destination.
    assert record.get("email") is None and record.get("order_total") is None and record.get("shipping") is None
    first_item = next(row for row in rows["order_items"] if row["id"] == order["order_items"][0]["id"])
    assert first_item.get("price") is None and first_item.get("quantity") is None and first_item.get("name") is None
    assert not rows["order_checkout_data"] and not rows["order_notes"]
    assert len(rows["order_items"]) == len(order["order_items"])


def _check_empty_lists(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert record["shipping"] == {} and record["customer"] == {} and record["return_address"] == {}
    assert not rows["order_checkout_data"] and not rows["order_metadata"] and not rows["order_items_variation_list"]
    assert all(row["metadata"] == {} for row in rows["order_items"])


def _check_maps_for_lists(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert {row["id"] for row in rows["order_items"]} == {item["id"] for item in order["order_items"].values()}
    assert [(row["position"], row["content"]) for row in rows["order_notes"]] == [(0, "first")]
    assert [(row["position"], row["code"], row["amount"]) for row in rows["order_discount_list"]] == [(0, "WELCOME10", 5.0)]


def _check_numbers_as_strings(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert record["order_total"] == 123.45 and record["quantity_total"] == 3 and record["email_count"] == 4
    first_item = next(row for row in rows["order_items"] if row["id"] == order["order_items"][0]["id"])
    assert (first_item["price"], first_item["quantity"], first_item["weight"]) == (19.99, 2, 0.5)


def _check_strings_as_numbers(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert (record["email"], record["customer_id"], record["source_id"], record["folder_id"]) == ("12345", "987", "4711", "31203")
    first_id = str(order["order_items"][0]["id"])
    first_item = next(row for row in rows["order_items"] if row["id"] == first_id)
    assert (first_item["code"], first_item["name"]) == ("4711", "2024")
    assert {row["name"]: row["value"] for row in rows["order_checkout_data"]} == {
        "Gift Wrap": "1",
        "Points": "2.5",
        "Newsletter": "true",
    }


def _check_long_notes(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert [row["content"] for row in rows["order_notes"]] == [LONG_TEXT]
    assert [row["value"] for row in rows["order_checkout_data"]] == [LONG_TEXT]


def _check_unicode(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert record["email"] == UNICODE["email"]
    assert (record["shipping"]["first_name"], record["shipping"]["last_name"]) == (UNICODE["first_name"], UNICODE["last_name"])
    assert record["shipping"]["address1"] == UNICODE["address1"]
    assert UNICODE["item"] in {row["name"] for row in rows["order_items"]}
    assert [(row["name"], row["value"]) for row in rows["order_items_variation_list"] if row["name"] == UNICODE["key"]] == [
        (UNICODE["key"], UNICODE["first_name"])
    ]
    assert [(row["username"], row["content"]) for row in rows["order_notes"]] == [("مدير", UNICODE["note"])]
    assert [(row["name"], row["value"]) for row in rows["order_checkout_data"]] == [(UNICODE["key"], UNICODE["note"])]


def _check_unknown_fields(order: dict, record: dict, rows: dict[str, list[dict]]) -> None:
    assert record["loyalty_tier"] == "gold" and record["risk"] == {"score": 3, "flags": ["new customer"]}
    first_item = next(row for row in rows["order_items"] if row["id"] == order["order_items"][0]["id"])
    assert first_item["gift_wrap"] is True
    assert rows["order_shipments"], "the base order has shipments"
    assert all(row["carrier_service_level"] == "express" for row in rows["order_shipments"])


CHECKS: dict[str, Callable[[dict, dict, dict[str, list[dict]]], None]] = {
    "fields missing": _check_fields_missing,
    "null where values are expected": _check_nulls,
    "[] where maps are expected": _check_empty_lists,
    "maps where lists are expected": _check_maps_for_lists,
    "numbers as strings": _check_numbers_as_strings,
    "strings as numbers": _check_strings_as_numbers,
    "100 KB notes": _check_long_notes,
    "unicode everywhere": _check_unicode,
    "unknown new fields": _check_unknown_fields,
}


def test_given_a_child_collection_the_connector_cannot_represent_when_reading_then_no_row_of_that_order_is_emitted(
    payload_runs: dict[str, Any],
) -> None:
    run, served = result_of(payload_runs["text where a list is expected"])
    (order,) = served.values()
    assert "The order was not replicated" in run.errors[0]["message"]
    assert not _rows_of(run, "orders", order["id"]), "the orders row of the failed order was emitted"
