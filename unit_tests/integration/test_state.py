"""Per-table state: emitted after every page, resumed with a lookback, never moving backwards."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import List
from unittest import TestCase

import pytest
from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.streams import NO_CURSOR_STATE_KEY
from airbyte_cdk.test.mock_http import HttpMocker
from airbyte_cdk.test.state_builder import StateBuilder

from .config import ConfigBuilder
from .order_desk_mocks import mock_sort_probe
from .request_builder import OrderDeskRequestBuilder
from .response_builder import SERVER_NOW, a_bare_order, an_order, clock_response, error_response, orders_page
from .source_runner import ORDER_STREAMS, catalog, read_source, records_of, states_of, warnings_of

_START = "2024-01-01 00:00:00"


def _cursor_key(stream: str) -> str:
    return "date_updated" if stream == "orders" else "order_date_updated"


def _orders(start: str = _START, end: str = SERVER_NOW, limit: int = 500) -> OrderDeskRequestBuilder:
    return OrderDeskRequestBuilder.orders().with_window(start, end).with_limit(limit)


class StatePerPageTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _mock_three_pages(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(an_order("1", "2024-02-01 10:00:00"), an_order("2", "2024-02-02 10:00:00"))
            .with_total_records(5)
            .with_limit(2)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", SERVER_NOW, a_bare_order("4", "2024-02-04 10:00:00"), total_records=5)
        http_mocker.get(
            _orders(start="2024-02-02 10:00:00", limit=2).build(),
            orders_page(an_order("2", "2024-02-02 10:00:00"), an_order("3", "2024-02-03 10:00:00"))
            .with_total_records(4)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-03 10:00:00", limit=2).build(),
            orders_page(an_order("3", "2024-02-03 10:00:00"), an_order("4", "2024-02-04 10:00:00"))
            .with_total_records(2)
            .with_limit(2)
            .build(),
        )

    @HttpMocker()
    def test_given_three_pages_when_read_then_a_state_follows_each_page_with_its_last_second(
        self, http_mocker: HttpMocker
    ) -> None:
        self._mock_three_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        assert states_of(output, "orders") == [
            {"date_updated": "2024-02-02T10:00:00Z"},
            {"date_updated": "2024-02-03T10:00:00Z"},
            {"date_updated": "2024-02-04T10:00:00Z"},
        ]

    @HttpMocker()
    def test_given_three_pages_when_read_then_each_state_comes_after_its_pages_records_and_before_the_next_pages(
        self, http_mocker: HttpMocker
    ) -> None:
        self._mock_three_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"))

        sequence = [
            ("record", message.record.data["id"])
            if message.type == Type.RECORD
            else ("state", message.state.stream.stream_state.date_updated)
            for message in output.records_and_state_messages
        ]
        assert sequence == [
            ("record", "1"),
            ("record", "2"),
            ("state", "2024-02-02T10:00:00Z"),
            ("record", "3"),
            ("state", "2024-02-03T10:00:00Z"),
            ("record", "4"),
            ("state", "2024-02-04T10:00:00Z"),
        ]

    @HttpMocker()
    def test_given_child_tables_when_read_then_their_state_is_keyed_on_order_date_updated(self, http_mocker: HttpMocker) -> None:
        self._mock_three_pages(http_mocker)

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog(*ORDER_STREAMS))

        for stream in ORDER_STREAMS:
            assert states_of(output, stream)[-1] == {_cursor_key(stream): "2024-02-04T10:00:00Z"}, stream
            assert len(states_of(output, stream)) == 3, stream

    @HttpMocker()
    def test_given_the_api_fails_on_page_3_when_read_then_the_states_of_pages_1_and_2_were_emitted(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-02 10:00:00"))
            .with_total_records(5)
            .with_limit(2)
            .build(),
        )
        mock_sort_probe(http_mocker, "2024-02-01 10:00:00", SERVER_NOW, a_bare_order("4", "2024-02-04 10:00:00"), total_records=5)
        http_mocker.get(
            _orders(start="2024-02-02 10:00:00", limit=2).build(),
            orders_page(a_bare_order("2", "2024-02-02 10:00:00"), a_bare_order("3", "2024-02-03 10:00:00"))
            .with_total_records(4)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            _orders(start="2024-02-03 10:00:00", limit=2).build(),
            [error_response(HTTPStatus.INTERNAL_SERVER_ERROR)] * 9,
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"), expecting_exception=True)

        assert states_of(output, "orders") == [{"date_updated": "2024-02-02T10:00:00Z"}, {"date_updated": "2024-02-03T10:00:00Z"}]
        assert [record["id"] for record in records_of(output, "orders")] == ["1", "2", "3"]
        assert output.errors

    @HttpMocker()
    def test_given_the_sort_probe_fails_when_read_then_the_first_pages_records_were_emitted_but_no_state_for_them(
        self, http_mocker: HttpMocker
    ) -> None:
        # The first page's checkpoint waits for the probe's answer: until the sort is known to be honoured,
        # nothing proves that the orders before its last second were all read.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(limit=2).build(),
            orders_page(a_bare_order("1", "2024-02-01 10:00:00"), a_bare_order("2", "2024-02-02 10:00:00"))
            .with_total_records(5)
            .with_limit(2)
            .build(),
        )
        http_mocker.get(
            OrderDeskRequestBuilder.sort_probe("2024-02-01 10:00:00", SERVER_NOW).build(),
            [error_response(HTTPStatus.INTERNAL_SERVER_ERROR)] * 9,
        )

        output = read_source(ConfigBuilder().with_page_size(2).build(), catalog("orders"), expecting_exception=True)

        assert [record["id"] for record in records_of(output, "orders")] == ["1", "2"]
        assert states_of(output, "orders") == []  # never the unverified page's last second: a retry re-reads the page
        assert output.errors


class ResumeFromStateTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_a_saved_cursor_when_read_then_the_window_starts_lookback_minutes_before_it(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-03-05 13:50:00").build(), orders_page(a_bare_order("9", "2024-03-05 15:00:00")).build()
        )
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["9"]
        assert states_of(output, "orders")[-1] == {"date_updated": "2024-03-05T15:00:00Z"}

    @HttpMocker()
    def test_given_a_configured_lookback_when_read_then_the_window_starts_that_many_minutes_before_the_cursor(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-03-04 14:00:00").build(), orders_page(a_bare_order("7", "2024-03-04 20:00:00")).build()
        )
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().with_lookback_window_minutes(1440).build(), catalog("orders"), state)

        # an order updated within the lookback, before the saved cursor, is read again
        assert [record["id"] for record in records_of(output, "orders")] == ["7"]
        assert states_of(output, "orders")[-1] == {"date_updated": "2024-03-05T14:00:00Z"}, "the state never moves back"

    @HttpMocker()
    def test_given_no_lookback_when_read_then_the_window_starts_at_the_cursor_inclusive(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-03-05 14:00:00").build(), orders_page(a_bare_order("8", "2024-03-05 14:00:00")).build()
        )
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().with_lookback_window_minutes(0).build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["8"]

    @HttpMocker()
    def test_given_a_cursor_before_the_start_date_when_read_then_the_window_starts_at_the_start_date(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-01-01 00:00:00").build(), orders_page(a_bare_order("3", "2024-01-01 00:00:00")).build()
        )
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2023-06-01T00:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["3"]

    @HttpMocker()
    def test_given_a_saved_cursor_and_a_full_refresh_when_read_then_the_state_is_ignored(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-01-02 00:00:00")).build())
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders", sync_mode=SyncMode.full_refresh), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["1"]

    @HttpMocker()
    def test_given_tables_with_different_cursors_when_read_then_one_pass_starts_at_the_earliest_and_each_table_skips_older_orders(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-02-01 09:50:00").build(),
            orders_page(an_order("1", "2024-02-01 12:00:00"), an_order("2", "2024-03-01 12:00:00")).build(),
        )
        state = (
            StateBuilder()
            .with_stream_state("orders", {"date_updated": "2024-02-01T10:00:00Z"})
            .with_stream_state("order_items", {"order_date_updated": "2024-03-01T00:00:00Z"})
            .build()
        )

        output = read_source(ConfigBuilder().build(), catalog("orders", "order_items"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["1", "2"]
        assert {record["order_id"] for record in records_of(output, "order_items")} == {"2"}
        assert len(self._time.urls("/orders")) == 1

    @HttpMocker()
    def test_given_order_ids_configured_as_incremental_with_a_saved_state_when_read_then_it_is_a_full_refresh_with_a_warning(
        self, http_mocker: HttpMocker
    ) -> None:
        # order_ids lists every order that exists now (to drop deleted ones): it must never skip old orders.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders().build(),
            orders_page(a_bare_order("1", "2024-01-05 10:00:00"), a_bare_order("2", "2024-03-05 15:00:00")).build(),
        )
        state = StateBuilder().with_stream_state("order_ids", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("order_ids"), state)

        assert [record["id"] for record in records_of(output, "order_ids")] == ["1", "2"]
        assert states_of(output, "order_ids") == [{NO_CURSOR_STATE_KEY: True}], "the saved cursor is not carried on"
        warnings = warnings_of(output)
        assert any("order_ids" in message and "full refresh" in message for message in warnings)

    @HttpMocker()
    def test_given_full_refresh_order_tables_when_read_then_each_ends_with_the_cdks_no_cursor_state(
        self, http_mocker: HttpMocker
    ) -> None:
        # The CDK ends every full-refresh stream with this state, and the platform counts a stream done by it.
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-01-05 10:00:00")).build())

        output = read_source(ConfigBuilder().build(), catalog("orders", "order_ids", sync_mode=SyncMode.full_refresh))

        for stream in ("orders", "order_ids"):
            assert states_of(output, stream) == [{NO_CURSOR_STATE_KEY: True}], stream
        kinds = [message.type for message in output.records_and_state_messages]
        assert kinds[-2:] == [Type.STATE, Type.STATE] and Type.STATE not in kinds[:-2], "one state each, at the end"

    @HttpMocker()
    def test_given_a_full_refreshs_state_when_read_incrementally_then_it_starts_at_the_start_date_without_a_warning(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-01-05 10:00:00")).build())
        state = StateBuilder().with_stream_state("orders", {NO_CURSOR_STATE_KEY: True}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["1"]
        assert states_of(output, "orders")[-1] == {"date_updated": "2024-01-05T10:00:00Z"}
        assert not warnings_of(output)


class UnreadStateTest(TestCase):
    """States the CDK passes over without a word: the stream starts at the Start Date, and the log says why."""

    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    def _read_from_start(self, http_mocker: HttpMocker, state: List[AirbyteStateMessage]) -> List[str]:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-01-05 10:00:00")).build())
        output = read_source(ConfigBuilder().build(), catalog("orders"), state)
        assert [record["id"] for record in records_of(output, "orders")] == ["1"]
        return warnings_of(output)

    @HttpMocker()
    def test_given_legacy_state_when_read_then_a_warning_says_it_is_not_read(self, http_mocker: HttpMocker) -> None:
        legacy = AirbyteStateMessage(type=AirbyteStateType.LEGACY, data={"orders": {"date_updated": "2024-03-05T14:00:00Z"}})

        warnings = self._read_from_start(http_mocker, [legacy])

        assert any("LEGACY state" in warning and "not read" in warning for warning in warnings)

    @HttpMocker()
    def test_given_a_state_in_another_namespace_when_read_then_a_warning_names_it(self, http_mocker: HttpMocker) -> None:
        state = [
            AirbyteStateMessage(
                type=AirbyteStateType.STREAM,
                stream=AirbyteStreamState(
                    stream_descriptor=StreamDescriptor(name="orders", namespace="x"),
                    stream_state=AirbyteStateBlob(date_updated="2024-03-05T14:00:00Z"),
                ),
            )
        ]

        warnings = self._read_from_start(http_mocker, state)

        assert any("The state of orders is for namespace 'x'" in warning for warning in warnings)

    @HttpMocker()
    def test_given_a_state_of_an_unselected_stream_when_read_then_no_warning(self, http_mocker: HttpMocker) -> None:
        state = StateBuilder().with_stream_state("folders", {"x": 1}).build()

        assert self._read_from_start(http_mocker, state) == []


class StateSafetyTest(TestCase):
    @pytest.fixture(autouse=True)
    def _fake_time(self, fake_time) -> None:  # type: ignore[no-untyped-def]
        self._time = fake_time

    @HttpMocker()
    def test_given_only_orders_inside_the_lookback_when_read_then_the_state_does_not_move_backwards(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(
            _orders(start="2024-03-05 13:50:00").build(), orders_page(a_bare_order("5", "2024-03-05 13:55:00")).build()
        )
        state = StateBuilder().with_stream_state("orders", {"date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["5"]
        assert states_of(output, "orders") == [{"date_updated": "2024-03-05T14:00:00Z"}]

    @HttpMocker()
    def test_given_a_saved_cursor_in_the_future_when_read_then_nothing_is_read_and_the_state_is_kept(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        state = StateBuilder()
        for stream in ORDER_STREAMS:
            state.with_stream_state(stream, {_cursor_key(stream): "2099-01-01T00:00:00Z"})

        output = read_source(ConfigBuilder().build(), catalog(*ORDER_STREAMS), state.build())

        assert output.records == []
        assert self._time.urls("/orders") == []
        for stream in ORDER_STREAMS:
            assert states_of(output, stream)[-1] == {_cursor_key(stream): "2099-01-01T00:00:00Z"}
        assert output.errors == []
        warnings = warnings_of(output)
        assert any("The saved state of orders (2099-01-01T00:00:00Z) is later than Order Desk's clock" in w for w in warnings)

    @HttpMocker()
    def test_given_a_saved_state_without_the_cursor_field_when_read_then_it_warns_and_reads_from_the_start_date(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build())
        state = StateBuilder().with_stream_state("orders", {"order_date_updated": "2024-03-05T14:00:00Z"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["1"]
        warnings = warnings_of(output)
        assert any("The saved state of orders has no 'date_updated' (it holds 'order_date_updated')" in w for w in warnings)

    @HttpMocker()
    def test_given_a_saved_cursor_that_is_not_a_date_when_read_then_it_warns_and_reads_from_the_start_date(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page(a_bare_order("1", "2024-02-01 10:00:00")).build())
        state = StateBuilder().with_stream_state("orders", {"date_updated": "abc"}).build()

        output = read_source(ConfigBuilder().build(), catalog("orders"), state)

        assert [record["id"] for record in records_of(output, "orders")] == ["1"]
        warnings = warnings_of(output)
        assert any(
            "The saved state of orders ('abc') is not a date and time: reading it from the Start Date." in w for w in warnings
        )

    @HttpMocker()
    def test_given_a_first_sync_of_an_empty_store_when_read_then_a_final_state_is_still_emitted(
        self, http_mocker: HttpMocker
    ) -> None:
        http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
        http_mocker.get(_orders().build(), orders_page().build())

        output = read_source(ConfigBuilder().build(), catalog("orders"))

        assert len(states_of(output, "orders")) == 1
        assert output.most_recent_state.stream_descriptor.name == "orders"

    def _state_size_after_reading(self, order_count: int) -> int:
        orders = [a_bare_order(str(1000 + n), f"2024-02-{1 + n % 28:02d} 10:{n % 60:02d}:00") for n in range(order_count - 1)]
        orders.append(a_bare_order("999999", "2024-03-01 00:00:00"))
        orders.sort(key=lambda order: order.build()["date_updated"])
        with HttpMocker() as http_mocker:
            http_mocker.get(OrderDeskRequestBuilder.test_endpoint().build(), clock_response())
            http_mocker.get(_orders().build(), orders_page(*orders).build())
            output = read_source(ConfigBuilder().build(), catalog(*ORDER_STREAMS))
        assert len(records_of(output, "orders")) == order_count
        final: List[str] = []
        for stream in ORDER_STREAMS:
            final.append(json.dumps(states_of(output, stream)[-1], sort_keys=True))
        return sum(len(text) for text in final)

    def test_given_one_order_or_five_hundred_when_read_then_the_state_has_the_same_size(self) -> None:
        assert self._state_size_after_reading(1) == self._state_size_after_reading(500)
