"""Values are emitted with the types their stream's JSON schema declares (Order Desk sends strings, `[]`, `""`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Mapping
from unittest import TestCase

import jsonschema
import pytest
from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.mock_http.response_builder import FieldPath, RecordBuilder

from .config import ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, an_order, clock_response, orders_page
from .source_runner import ORDER_STREAMS, catalog, discover_source, read_source, records_of

_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339_UTC.match(value):
        raise ValueError(f"{value!r} is not RFC 3339 UTC")
    datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    return True


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        datetime.strptime(value, "%Y-%m-%d")
    return True


def _read(*orders: RecordBuilder) -> Any:
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
            orders_page(*orders).build(),
        )
        return read_source(ConfigBuilder().build(), catalog(*ORDER_STREAMS))


def _quirky_order() -> RecordBuilder:
    """The realistic order, plus the quirks seen in real payloads."""
    order = an_order("48120337", "2024-03-05 14:02:19")
    order.with_field(FieldPath("email_count"), "4")
    order.with_field(FieldPath("checkout_data"), [])
    order.with_field(FieldPath("order_metadata"), [])
    order.with_field(FieldPath("order_shipments"), [_shipment(cost="", weight="2.75", date_shipped="2024-03-05")])
    order.with_field(FieldPath("return_address"), [])
    return order


def _shipment(**fields: Any) -> Dict[str, Any]:
    shipment = {
        "id": "770245",
        "order_id": "48120337",
        "store_id": "4471",
        "tracking_number": "n/a",
        "carrier_code": "USPS",
        "shipment_method": "Priority Mail",
        "weight": "0",
        "cost": "9.20",
        "status": "",
        "tracking_url": "",
        "label_format": "",
        "label_image": "",
        "print_status": "0",
        "order_items": "",
        "cart_shipment_id": "",
        "date_shipped": "2024-03-05",
        "date_added": "2024-03-05 14:02:19",
    }
    shipment.update(fields)
    return shipment


class TypesTest(TestCase):
    def test_given_order_desk_ids_when_read_then_they_are_emitted_as_strings_even_when_sent_as_numbers(self) -> None:
        order = an_order("48120337", "2024-03-05 14:02:19")
        numeric = an_order("48120338", "2024-03-05 14:02:20").with_field(FieldPath("id"), 48120338)

        output = _read(order, numeric)

        assert [row["id"] for row in records_of(output, "orders")] == ["48120337", "48120338"]
        assert all(isinstance(row["order_id"], str) for row in records_of(output, "order_items"))
        assert all(isinstance(row["id"], str) for row in records_of(output, "order_items"))
        assert records_of(output, "order_shipments")[0]["store_id"] == "4471"

    def test_given_decimal_strings_when_read_then_numeric_fields_are_numbers(self) -> None:
        output = _read(_quirky_order())

        (discount,) = records_of(output, "order_discount_list")
        assert discount["amount"] == 8.45 and isinstance(discount["amount"], float)
        (shipment,) = records_of(output, "order_shipments")
        assert shipment["weight"] == 2.75
        (order,) = records_of(output, "orders")
        assert order["email_count"] == 4 and isinstance(order["email_count"], int)

    def test_given_an_empty_string_in_a_numeric_field_when_read_then_it_is_null(self) -> None:
        output = _read(_quirky_order())

        (shipment,) = records_of(output, "order_shipments")
        # The CDK's serializer leaves null top-level fields out of a RECORD, which destinations read as null.
        assert shipment.get("cost") is None
        assert shipment["weight"] == 2.75  # the row itself is there, with its other numbers

    def test_given_a_price_sent_as_a_string_when_read_then_it_is_a_number(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19")
        order.with_field(FieldPath("order_items"), [{"id": "5", "name": "Cap", "price": "10", "quantity": "2"}])

        output = _read(order)

        (item,) = records_of(output, "order_items")
        assert item["price"] == 10 and item["quantity"] == 2

    def test_given_empty_maps_sent_as_lists_when_read_then_they_become_empty_objects_or_no_rows(self) -> None:
        output = _read(_quirky_order())

        gift_wrap = next(row for row in records_of(output, "order_items") if row["id"] == "99187312")
        assert gift_wrap["variation_list"] == {}
        assert gift_wrap["metadata"] == {}
        assert records_of(output, "order_checkout_data") == []
        assert records_of(output, "order_metadata") == []
        assert [row["order_item_id"] for row in records_of(output, "order_items_variation_list")] == ["99187311", "99187311"]
        (order,) = records_of(output, "orders")
        assert order["return_address"] == {}

    def test_given_order_desk_timestamps_when_read_then_they_are_rfc3339_utc(self) -> None:
        output = _read(_quirky_order())

        (order,) = records_of(output, "orders")
        assert order["date_updated"] == "2024-03-05T14:02:19Z"
        assert order["date_added"] == "2024-03-04T22:15:41Z"
        (note,) = records_of(output, "order_notes")
        assert note["date_added"] == "2024-03-05T13:58:02Z"
        (shipment,) = records_of(output, "order_shipments")
        assert shipment["date_added"] == "2024-03-05T14:02:19Z"
        assert all(row["order_date_updated"] == "2024-03-05T14:02:19Z" for row in records_of(output, "order_items"))

    def test_given_a_date_only_date_shipped_when_read_then_it_stays_a_date(self) -> None:
        output = _read(_quirky_order())

        (shipment,) = records_of(output, "order_shipments")
        assert shipment["date_shipped"] == "2024-03-05"

    def test_given_zero_dates_and_empty_dates_when_read_then_they_are_null(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "0000-00-00 00:00:00")
        order.with_field(FieldPath("order_shipments"), [_shipment(date_shipped="", date_added="0000-00-00 00:00:00")])

        output = _read(order)

        (row,) = records_of(output, "orders")
        assert row.get("date_added") is None and row["date_updated"] == "2024-03-05T14:02:19Z"
        (shipment,) = records_of(output, "order_shipments")
        assert shipment.get("date_shipped") is None and shipment.get("date_added") is None
        assert shipment["id"] == "770245"

    def test_given_a_partial_zero_date_when_read_then_it_is_null(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2024-00-00 00:00:00")
        order.with_field(FieldPath("order_shipments"), [_shipment(date_shipped="2024-03-00", date_added="2024-03-00 10:00:00")])

        output = _read(order)

        (row,) = records_of(output, "orders")
        assert row.get("date_added") is None and row["date_updated"] == "2024-03-05T14:02:19Z"
        (shipment,) = records_of(output, "order_shipments")
        assert shipment.get("date_shipped") is None and shipment.get("date_added") is None
        assert shipment["id"] == "770245"

    def test_given_a_partial_zero_date_in_rfc3339_layout_when_read_then_it_is_null(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2024-00-00T00:00:00Z")
        order.with_field(
            FieldPath("order_shipments"), [_shipment(date_shipped="2024-03-00T00:00:00Z", date_added="2024-03-00T10:00:00Z")]
        )

        output = _read(order)

        (row,) = records_of(output, "orders")
        assert row.get("date_added") is None and row["date_updated"] == "2024-03-05T14:02:19Z"
        (shipment,) = records_of(output, "order_shipments")
        assert shipment.get("date_shipped") is None and shipment.get("date_added") is None
        assert shipment["id"] == "770245"

    def test_given_a_valid_date_in_rfc3339_layout_when_read_then_it_is_emitted_unchanged(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2024-02-29T23:59:59Z")

        output = _read(order)

        (row,) = records_of(output, "orders")
        assert row["date_added"] == "2024-02-29T23:59:59Z"

    def test_given_a_time_of_day_that_does_not_exist_in_rfc3339_layout_when_read_then_the_sync_fails_naming_the_order(
        self,
    ) -> None:
        order = an_order("80", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2024-03-05T25:61:00Z")

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(order).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True)

        assert records_of(output, "orders") == []
        error = output.errors[0].trace.error
        assert "80" in error.message and "date_added" in error.message and "T25:61:00Z" in error.message
        assert error.failure_type.value == "system_error"

    def test_given_a_date_that_does_not_exist_when_read_then_the_sync_fails_naming_the_order_and_field(self) -> None:
        order = an_order("77", "2024-03-05 14:02:19")
        order.with_field(FieldPath("order_shipments"), [_shipment(order_id="77", date_shipped="2024-02-30")])

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(order).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("order_shipments"), expecting_exception=True)

        assert records_of(output, "order_shipments") == []  # never a '2024-02-30' that breaks a typed column
        error = output.errors[0].trace.error
        assert "77" in error.message and "order_shipments" in error.message and "date_shipped" in error.message
        assert "2024-02-30" in error.message
        assert error.failure_type.value == "system_error"

    def test_given_a_date_time_that_does_not_exist_when_read_then_the_sync_fails_naming_the_order_and_field(self) -> None:
        order = an_order("78", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2023-02-29 10:00:00")

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(order).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True)

        assert records_of(output, "orders") == []
        error = output.errors[0].trace.error
        assert "78" in error.message and "date_added" in error.message and "2023-02-29" in error.message

    def test_given_a_date_that_does_not_exist_in_rfc3339_layout_when_read_then_the_sync_fails_naming_the_order_and_field(
        self,
    ) -> None:
        order = an_order("79", "2024-03-05 14:02:19").with_field(FieldPath("date_added"), "2024-02-30T10:00:00Z")

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(order).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("orders"), expecting_exception=True)

        assert records_of(output, "orders") == []
        error = output.errors[0].trace.error
        assert "79" in error.message and "date_added" in error.message and "2024-02-30" in error.message

    def test_given_metadata_values_of_any_type_when_read_then_each_is_a_text_value(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19")
        order.with_field(
            FieldPath("order_metadata"), {"score": 12, "ratio": 0.5, "flag": True, "nested": {"a": [1]}, "none": None}
        )

        output = _read(order)

        values = {row["name"]: row.get("value") for row in records_of(output, "order_metadata")}
        assert values == {"score": "12", "ratio": "0.5", "flag": "true", "nested": '{"a":[1]}', "none": None}

    def test_given_positioned_children_when_read_then_positions_count_from_zero_per_order(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19")
        order.with_field(FieldPath("discount_list"), [{"name": "A", "amount": "1.00"}, {"name": "B", "amount": "2.50"}])

        output = _read(order)

        assert [(row["position"], row["name"], row["amount"]) for row in records_of(output, "order_discount_list")] == [
            (0, "A", 1.0),
            (1, "B", 2.5),
        ]

    def test_given_a_field_the_schema_does_not_know_when_read_then_it_passes_through_unchanged(self) -> None:
        order = an_order("1", "2024-03-05 14:02:19").with_field(FieldPath("brand_new_field"), {"x": "1"})

        output = _read(order)

        assert records_of(output, "orders")[0]["brand_new_field"] == {"x": "1"}

    def test_given_a_value_that_cannot_be_a_number_when_read_then_the_sync_fails_naming_the_order_table_and_field(self) -> None:
        order = an_order("77", "2024-03-05 14:02:19")
        order.with_field(FieldPath("order_items"), [{"id": "5", "price": "twelve"}])

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(order).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("order_items"), expecting_exception=True)

        message = output.errors[0].trace.error.message
        assert "77" in message and "order_items" in message and "price" in message
        assert output.errors[0].trace.error.failure_type.value == "system_error"

    def test_given_an_order_whose_items_cannot_be_represented_when_read_then_none_of_its_rows_is_emitted(self) -> None:
        # The orders row comes first in the catalog and could be built; order_items (text, not a list) cannot.
        good = an_order("80", "2024-03-05 14:02:19")
        bad = an_order("81", "2024-03-05 14:02:20").with_field(FieldPath("order_items"), "not a list")

        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(
                OrderDeskRequestBuilder.orders().with_window("2024-01-01 00:00:00", SERVER_NOW).build(),
                orders_page(good, bad).build(),
            )
            output = read_source(ConfigBuilder().build(), catalog("orders", "order_items"), expecting_exception=True)

        assert [row["id"] for row in records_of(output, "orders")] == ["80"]  # the order before it is out; 81 is not
        assert {row["order_id"] for row in records_of(output, "order_items")} == {"80"}
        error = output.errors[0].trace.error
        assert "81" in error.message and "order_items" in error.message


class SchemaValidationTest(TestCase):
    def _schemas(self) -> Mapping[str, Mapping[str, Any]]:
        output = discover_source(ConfigBuilder().build())
        return {stream.name: stream.json_schema for stream in output.catalog.catalog.streams}

    def _assert_valid(self, output: Any) -> int:
        schemas = self._schemas()
        checked = 0
        problems: List[str] = []
        for message in output.records:
            validator = jsonschema.Draft7Validator(schemas[message.record.stream], format_checker=_FORMATS)
            problems.extend(f"{message.record.stream}: {error.message}" for error in validator.iter_errors(message.record.data))
            checked += 1
        assert problems == []
        return checked

    def test_given_the_realistic_order_when_read_then_every_record_of_every_stream_validates_against_its_schema(self) -> None:
        output = _read(an_order("48120337", "2024-03-05 14:02:19"))

        assert {message.record.stream for message in output.records} == set(ORDER_STREAMS)
        assert self._assert_valid(output) > 8

    def test_given_the_quirky_order_when_read_then_every_record_validates_against_its_schema(self) -> None:
        assert self._assert_valid(_read(_quirky_order())) > 0

    def test_given_a_record_that_breaks_its_schema_when_validating_then_the_check_reports_it(self) -> None:
        # the validation above can fail: a string id is fine, a number is not, and so is a bad timestamp
        schema = self._schemas()["orders"]
        validator = jsonschema.Draft7Validator(schema, format_checker=_FORMATS)
        assert list(validator.iter_errors({"id": 5}))
        assert list(validator.iter_errors({"date_updated": "2024-03-05 14:02:19"}))


@pytest.mark.parametrize("stream", ORDER_STREAMS)
def test_given_discover_when_reading_a_schema_then_every_property_allows_null(stream: str) -> None:
    output = discover_source(ConfigBuilder().build())
    schema = next(s.json_schema for s in output.catalog.catalog.streams if s.name == stream)

    for name, prop in schema["properties"].items():
        types = prop.get("type")
        assert types == "null" or "null" in types, f"{stream}.{name} does not allow null"
