"""Reads every selected order table in one pass over `/orders`.

The CDK reads streams one after another, so tables cut from the same order payloads would each
request every page again (or need an unbounded HTTP cache). Here each page is requested once and
its orders are split into the rows of all selected tables, which are emitted interleaved, each
table with its own state: a checkpoint per page, so a failed sync resumes without loss.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    AirbyteStreamStatus,
    ConfiguredAirbyteStream,
    FailureType,
    StreamDescriptor,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_message
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .paging import PagingError
from .rows import OrderRows, Plan
from .streams import Orders, later_cursor, start_key
from .timestamps import PayloadError, api_time_key


@dataclass
class SelectedTable:
    configured: ConfiguredAirbyteStream
    plan: Plan
    cursor_field: str
    saved_cursor: Optional[str]
    start: str = ""
    emitted_cursor: Optional[str] = None
    has_records: bool = False
    name: str = field(init=False)  # read for every order: a plain attribute

    def __post_init__(self) -> None:
        self.name = self.configured.stream.name

    @property
    def incremental(self) -> bool:
        return self.configured.sync_mode == SyncMode.incremental


class OrderPass:
    def __init__(
        self,
        orders: Orders,
        selected: Sequence[tuple[ConfiguredAirbyteStream, Plan, str]],
        state_manager: ConnectorStateManager,
        logger: logging.Logger,
    ) -> None:
        self._orders = orders
        self._logger = logger
        self._tables = []
        for configured, plan, cursor_field in selected:
            saved = state_manager.get_stream_state(configured.stream.name, configured.stream.namespace) or {}
            incremental = configured.sync_mode == SyncMode.incremental
            self._tables.append(SelectedTable(configured, plan, cursor_field, saved.get(cursor_field) if incremental else None))
        self.error: Optional[AirbyteTracedException] = None

    @property
    def table_names(self) -> list[str]:
        return [table.name for table in self._tables]

    def messages(self) -> Iterator[AirbyteMessage]:
        for table in self._tables:
            yield stream_status_message(table.configured.stream, AirbyteStreamStatus.STARTED)
        try:
            yield from self._read()
        except Exception as error:  # reported as a trace below; the source fails the sync at the end
            self.error = as_traced(error)
            self._logger.error(f"Reading the order tables failed: {self.error.message}")
            for table in self._tables:
                yield stream_status_message(table.configured.stream, AirbyteStreamStatus.INCOMPLETE)
            yield self.error.as_sanitized_airbyte_message(stream_descriptor=StreamDescriptor(name=self._tables[0].name))
            return
        for table in self._tables:
            yield stream_status_message(table.configured.stream, AirbyteStreamStatus.COMPLETE)

    def _read(self) -> Iterator[AirbyteMessage]:
        config = self._orders.config
        for table in self._tables:
            table.start = start_key(config, table.saved_cursor)
        end = self._orders.server_now()
        first = min(table.start for table in self._tables)
        self._logger.info(f"Reading orders updated from {first} to {end} UTC for {', '.join(self.table_names)}.")
        later: dict[str, list[str]] = {}  # tables that start after the pass does (another table sets its start)
        for table in self._tables:
            if table.start > first:
                later.setdefault(table.start, []).append(table.name)
        for start, names in later.items():
            self._logger.info(
                f"Of these, {', '.join(names)} keep only orders updated from {start} UTC (saved cursor less lookback)."
            )
        splitter = OrderRows({table.name: table.plan for table in self._tables})
        checkpoint = None
        for page in self._orders.pages(first, end):
            emitted_at = int(time.time() * 1000)
            for order in page.orders:
                updated = api_time_key(order.get("date_updated"), order)
                parent = splitter.parent(order)
                # All of an order's rows are built before any is emitted: an order that cannot be represented
                # fails the sync without a partial copy of it (say, its orders row without its items).
                order_rows = [
                    (table, splitter.rows(table.name, order, parent)) for table in self._tables if updated >= table.start
                ]
                for table, rows in order_rows:
                    if rows and not table.has_records:
                        table.has_records = True
                        yield stream_status_message(table.configured.stream, AirbyteStreamStatus.RUNNING)
                    for row in rows:
                        record = AirbyteRecordMessage(stream=table.name, data=row, emitted_at=emitted_at)
                        yield AirbyteMessage(type=Type.RECORD, record=record)
            if page.checkpoint and page.checkpoint != checkpoint:
                checkpoint = page.checkpoint
                yield from self._states(checkpoint, final=False)
        yield from self._states(checkpoint, final=True)

    def _states(self, checkpoint: Optional[str], final: bool) -> Iterator[AirbyteMessage]:
        for table in self._tables:
            if not table.incremental:
                continue
            if checkpoint is None:
                cursor = table.saved_cursor
            else:
                cursor = later_cursor(table.saved_cursor, checkpoint)
            if cursor == table.emitted_cursor and not (final and table.emitted_cursor is None):
                continue
            table.emitted_cursor = cursor
            blob = AirbyteStateBlob(**({table.cursor_field: cursor} if cursor else {}))
            yield AirbyteMessage(
                type=Type.STATE,
                state=AirbyteStateMessage(
                    type=AirbyteStateType.STREAM,
                    stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name=table.name), stream_state=blob),
                ),
            )


def as_traced(error: Exception, what: str = "orders") -> AirbyteTracedException:
    """A failure as the trace a user sees: the connector's own errors keep their message."""
    if isinstance(error, AirbyteTracedException):
        return error
    if isinstance(error, PayloadError):
        return AirbyteTracedException(
            message=str(error), internal_message=str(error), failure_type=FailureType.system_error, exception=error
        )
    if isinstance(error, PagingError):
        return AirbyteTracedException(
            message=str(error), internal_message=str(error), failure_type=FailureType.transient_error, exception=error
        )
    return AirbyteTracedException.from_exception(error, message=f"Reading {what} failed unexpectedly: {error!r}")
