"""Folder IDs and state: a saved cursor covers only the folders its sync read, so a sync that reads more
folders than that starts at the Start Date (an order in an added folder, updated before the cursor, would
otherwise never be read), and one that reads the same folders or fewer resumes from the cursor."""

from __future__ import annotations

from typing import Any, List, Optional
from unittest import TestCase

import pytest
from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.state_builder import StateBuilder

from .config import ConfigBuilder
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, clock_response, orders_page, store_response
from .source_runner import catalog, read_source, records_of, states_of, warnings_of

_START = "2024-01-01 00:00:00"
_CURSOR = "2024-03-05T14:00:00Z"
_RESUMED = "2024-03-05 13:50:00"  # the cursor less the default lookback of 10 minutes


def _orders(start: str, folder_ids: Optional[List[int]]) -> OrderDeskRequestBuilder:
    request = OrderDeskRequestBuilder.orders().with_window(start, SERVER_NOW)
    return request.with_folder_ids(folder_ids) if folder_ids else request


def _saved(folder_ids: Optional[List[Any]]) -> dict:
    return {"date_updated": _CURSOR, **({"folder_ids": folder_ids} if folder_ids is not None else {})}


class FolderStateTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _read(self, http_mocker: HttpMocker, now: Optional[List[int]], saved: Optional[dict], expected_start: str) -> Any:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        if now:  # the read checks that they are the store's folders
            http_mocker.get(OrderDeskRequestBuilder.store().build(), store_response({"31201": "New", "31203": "Closed"}))
        # From the Start Date, an order older than the cursor: the one a resumed sync would never see.
        updated = "2024-02-01 10:00:00" if expected_start == _START else "2024-03-05 15:00:00"
        http_mocker.get(_orders(expected_start, now).build(), orders_page(a_bare_order("7", updated)).build())
        config = ConfigBuilder().with_folder_ids(now).build() if now else ConfigBuilder().build()
        state = StateBuilder().with_stream_state("orders", saved).build() if saved is not None else None
        return read_source(config, catalog("orders"), state)

    @HttpMocker()
    def test_given_folder_ids_when_read_then_the_state_names_them_beside_the_cursor(self, http_mocker: HttpMocker) -> None:
        output = self._read(http_mocker, [31203, 31201], None, _START)

        assert states_of(output, "orders")[-1] == {"date_updated": "2024-02-01T10:00:00Z", "folder_ids": [31201, 31203]}

    @HttpMocker()
    def test_given_no_folder_ids_when_read_then_the_state_is_the_cursor_alone(self, http_mocker: HttpMocker) -> None:
        output = self._read(http_mocker, None, None, _START)

        assert states_of(output, "orders")[-1] == {"date_updated": "2024-02-01T10:00:00Z"}

    @HttpMocker()
    def test_given_a_folder_added_since_the_state_when_read_then_from_the_start_date_with_a_warning_naming_it(
        self, http_mocker: HttpMocker
    ) -> None:
        output = self._read(http_mocker, [31201, 31203], _saved([31201]), _START)

        assert [record["id"] for record in records_of(output, "orders")] == ["7"]
        assert any("Folder IDs now include folder 31203" in warning and "orders" in warning for warning in warnings_of(output))
        assert states_of(output, "orders")[-1] == {"date_updated": "2024-02-01T10:00:00Z", "folder_ids": [31201, 31203]}

    @HttpMocker()
    def test_given_folder_ids_removed_since_a_filtered_state_when_read_then_every_folder_from_the_start_date(
        self, http_mocker: HttpMocker
    ) -> None:
        output = self._read(http_mocker, None, _saved([31201]), _START)

        assert any("Folder IDs now include every folder" in warning for warning in warnings_of(output))

    @HttpMocker()
    def test_given_fewer_folders_than_the_state_covers_when_read_then_it_resumes_from_the_cursor(
        self, http_mocker: HttpMocker
    ) -> None:
        output = self._read(http_mocker, [31201], _saved(["31201", "31203"]), _RESUMED)

        assert [record["id"] for record in records_of(output, "orders")] == ["7"]
        assert warnings_of(output) == []

    @HttpMocker()
    def test_given_a_state_of_every_folder_when_read_with_folder_ids_then_it_resumes_from_the_cursor(
        self, http_mocker: HttpMocker
    ) -> None:
        output = self._read(http_mocker, [31201], _saved(None), _RESUMED)

        assert warnings_of(output) == []

    @HttpMocker()
    def test_given_saved_folder_ids_that_are_not_ids_when_read_then_from_the_start_date_with_a_warning(
        self, http_mocker: HttpMocker
    ) -> None:
        output = self._read(http_mocker, [31201], _saved(["New"]), _START)

        assert any("folders that the saved state cannot name (its folder_ids is ['New'])" in w for w in warnings_of(output))
