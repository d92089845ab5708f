"""A payload of `inventory_items`, `folders` or `store` that cannot be represented fails its stream with a
message that names the stream, the item or store field, and the problem; the shapes Order Desk really
sends (a map as `[]`, folders as a list of objects) are still read."""

from __future__ import annotations

import json
from typing import Any, Mapping

import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from .config import DEFAULT_API_URL, STORE_ID, ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .source_runner import catalog, every_message_text, read_source, records_of

REPORT_IT = "please report this value to the connector's maintainers."


def _inventory_item(item_id: str, **fields: Any) -> dict:
    return {"id": item_id, "name": "Cap", "code": f"CAP-{item_id}", "price": "10.50", "stock": "4", **fields}


def _read(resource: str, body: Mapping[str, Any], *streams: str) -> EntrypointOutput:
    """Reads `streams` (each asks once), every answer being `body`; the sync is expected to fail."""
    query = {"limit": 500} if resource == "inventory-items" else {}
    answers = [HttpResponse(json.dumps(body), 200) for _ in streams]
    with HttpMocker() as http_mocker:
        http_mocker.get(OrderDeskRequestBuilder(DEFAULT_API_URL, resource, query).build(), answers)
        return read_source(ConfigBuilder().build(), catalog(*streams, sync_mode=SyncMode.full_refresh), expecting_exception=True)


def _read_inventory(*items: Any) -> EntrypointOutput:
    body = {"status": "success", "total_records": len(items), "inventory_items": list(items)}
    return _read("inventory-items", body, "inventory_items")


def _read_store(**store: Any) -> EntrypointOutput:
    body = {"status": "success", "store": {"id": STORE_ID, "name": "Example Outfitters", **store}}
    return _read("store", body, "store", "folders")


def _error_message(output: EntrypointOutput, stream: str) -> str:
    errors = [message.trace.error for message in output.errors]
    (error,) = [error for error in errors if error.stream_descriptor and error.stream_descriptor.name == stream]
    assert error.failure_type == FailureType.system_error
    return error.message


def _failed_streams(output: EntrypointOutput) -> set:
    return {message.trace.error.stream_descriptor.name for message in output.errors if message.trace.error.stream_descriptor}


def test_given_an_inventory_item_with_a_price_that_is_not_a_number_when_read_then_the_error_names_the_item_and_field() -> None:
    output = _read_inventory(_inventory_item("41", metadata=[]), _inventory_item("42", price="abc"))

    assert _error_message(output, "inventory_items") == (
        "Inventory item 42 (code CAP-42): inventory_items field price: 'abc' is not a number. "
        f"The item was not replicated; {REPORT_IT}"
    )
    (good,) = records_of(output, "inventory_items")  # the item before it, typed as usual
    assert (good["id"], good["price"], good["stock"], good["metadata"]) == ("41", 10.5, 4, {})


def test_given_an_inventory_item_without_an_id_when_its_date_is_bad_then_the_error_names_it_by_code() -> None:
    item = _inventory_item("7", date_added="yesterday")
    del item["id"]

    output = _read_inventory(item)

    assert _error_message(output, "inventory_items") == (
        "Inventory item with code CAP-7: inventory_items field date_added: 'yesterday' is not a date and time. "
        f"The item was not replicated; {REPORT_IT}"
    )


def test_given_an_inventory_item_that_is_a_string_when_read_then_the_error_says_it_is_not_an_object() -> None:
    output = _read_inventory(_inventory_item("41"), "widget")

    assert _error_message(output, "inventory_items") == (
        f"Inventory item 'widget': inventory_items item is not an object. The item was not replicated; {REPORT_IT}"
    )


def test_given_inventory_items_that_are_not_a_list_when_read_then_the_error_names_the_field() -> None:
    output = _read("inventory-items", {"status": "success", "inventory_items": "none"}, "inventory_items")

    assert _error_message(output, "inventory_items") == (
        "Inventory items at offset 0: inventory_items field inventory_items: 'none' is not a list. "
        f"The page was not replicated; {REPORT_IT}"
    )


def test_given_folders_sent_as_a_string_when_read_then_folders_fail_naming_the_field_and_the_store_is_read() -> None:
    output = _read_store(folders="New, Closed", settings=[])  # `[]`: PHP's empty map

    assert _error_message(output, "folders") == (
        f"Store {STORE_ID}: folders field folders: 'New, Closed' is not a map of names to values. "
        f"The folders were not replicated; {REPORT_IT}"
    )
    assert _failed_streams(output) == {"folders"}
    assert records_of(output, "store") == [{"id": STORE_ID, "name": "Example Outfitters", "settings": {}}]


def test_given_settings_sent_as_a_string_when_read_then_the_store_fails_without_quoting_it_and_folders_are_read() -> None:
    output = _read_store(settings="smtp_password=hunter2", folders=[{"id": 1, "name": "New"}, {"id": "2", "name": "Closed"}])

    # The value is not quoted: a store's settings hold secrets, and the message is shown and logged.
    assert _error_message(output, "store") == (
        f"Store {STORE_ID}: store field settings is a string, not a map of names to values. "
        f"The store was not replicated; {REPORT_IT}"
    )
    assert "hunter2" not in every_message_text(output)
    assert _failed_streams(output) == {"store"}
    assert records_of(output, "folders") == [{"id": "1", "name": "New"}, {"id": "2", "name": "Closed"}]


@pytest.mark.parametrize("stream, lost", [("store", "The store was"), ("folders", "The folders were")])
def test_given_a_store_that_is_not_an_object_when_read_then_the_error_says_so(stream: str, lost: str) -> None:
    output = _read("store", {"status": "success", "store": "Example Outfitters"}, stream)

    assert _error_message(output, stream) == (
        f"Store {STORE_ID}: {stream} field store is a string, not an object. {lost} not replicated; {REPORT_IT}"
    )
