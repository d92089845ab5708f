"""Reads every selected order table in one pass over `/orders`.

The CDK reads streams one after another, so tables cut from the same order payloads would each
request every page again (or need an unbounded HTTP cache). Here each page is requested once and
its orders are split into the rows of all selected tables, which are emitted interleaved, each
table with its own state: a checkpoint per page, so a failed sync resumes without loss.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterator, Mapping, Optional, Sequence

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
from airbyte_cdk.sources.streams import NO_CURSOR_STATE_KEY
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_message
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .paging import PagingError
from .rows import OrderRows, Plan
from .streams import Orders, later_cursor, start_key
from .timestamps import PayloadError, api_time_key, format_api_time, from_state_value, parse_api_time

ORDER_IDS = "order_ids"
# Saved beside the cursor when Folder IDs are set: a later sync that reads more folders must start over.
FOLDERS_KEY = "folder_ids"
ORDER_IDS_FIELDS = ("id", "date_updated", "folder_id")
# Windows of orders changed during the pass that order_ids reads at most, chasing Order Desk's clock.
MAX_CHANGED_WINDOWS = 5


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
        # Saved beside each cursor: the folders it covers (absent, every folder).
        self._folders_covered = {FOLDERS_KEY: sorted(orders.config.folder_ids)} if orders.config.folder_ids else {}
        self._tables = []
        widened: dict[str, list[str]] = {}  # what the Folder IDs now add -> the tables read again for it
        for configured, plan, cursor_field in selected:
            saved = state_manager.get_stream_state(configured.stream.name, configured.stream.namespace) or {}
            saved = {key: value for key, value in saved.items() if key != NO_CURSOR_STATE_KEY}  # a full refresh's
            incremental = configured.sync_mode == SyncMode.incremental
            if incremental and saved and cursor_field not in saved:
                held = ", ".join(map(repr, saved))
                logger.warning(
                    f"The saved state of {configured.stream.name} has no {cursor_field!r} (it holds {held}): "
                    "reading it from the Start Date."
                )
            cursor = saved.get(cursor_field) if incremental else None
            added = folders_added(saved.get(FOLDERS_KEY), orders.config.folder_ids) if cursor is not None else None
            if added:
                widened.setdefault(added, []).append(configured.stream.name)
                cursor = None
            self._tables.append(SelectedTable(configured, plan, cursor_field, cursor))
        for added, names in widened.items():
            logger.warning(
                f"The Folder IDs now include {added}, which the saved state of {', '.join(names)} does not cover: "
                "orders there updated before the saved cursor were never read, so these tables are read from the "
                "Start Date."
            )
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
        self._warn_about_odd_saved_cursors(end)
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
        listed = _ListedIds(end) if ORDER_IDS in self.table_names else None
        checkpoint = None
        for page in self._orders.pages(first, end):
            emitted_at = int(time.time() * 1000)
            for order in page.orders:
                updated = api_time_key(order.get("date_updated"), order)
                # An order updated in the pass's last second may have been read before, in an older version.
                later = listed is not None and listed.add_or_defer(order, updated)
                parent = splitter.parent(order)
                # All of an order's rows are built before any is emitted: an order that cannot be represented
                # fails the sync without a partial copy of it (say, its orders row without its items).
                order_rows = [
                    (table, splitter.rows(table.name, order, parent))
                    for table in self._tables
                    if updated >= table.start and not (later and table.name == ORDER_IDS)
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
        if listed is not None:
            yield from self._orders_changed_during_the_pass(end, listed, splitter)
        yield from self._states(checkpoint, final=True)

    def _warn_about_odd_saved_cursors(self, end: str) -> None:
        for table in self._tables:
            if table.saved_cursor is None:
                continue
            saved = from_state_value(table.saved_cursor)
            if saved is None:
                self._logger.warning(
                    f"The saved state of {table.name} ({str(table.saved_cursor)[:60]!r}) is not a date and time: "
                    "reading it from the Start Date."
                )
            elif saved > end:
                self._logger.warning(
                    f"The saved state of {table.name} ({table.saved_cursor}) is later than Order Desk's clock ({end} UTC): "
                    "no order can be newer, so none is read, and the state is kept (it never moves backwards). If the "
                    "state is wrong, clear this stream's data in Airbyte (or edit the state) to sync it again."
                )

    def _orders_changed_during_the_pass(self, end: str, listed: _ListedIds, splitter: OrderRows) -> Iterator[AirbyteMessage]:
        """order_ids must list every order that exists, but an order updated during the sync before the pass
        reached it moved past the pass's upper bound. So orders updated since then are read too (for
        order_ids only; the order tables get them next sync), window after window up to Order Desk's clock,
        until one window fits in one page: nothing in it could move past an unread page."""
        ids_table = next(table for table in self._tables if table.name == ORDER_IDS)
        start, settled = end, False
        try:
            for _ in range(MAX_CHANGED_WINDOWS):
                start = format_api_time(parse_api_time(start) + timedelta(seconds=1))
                now = self._orders.server_now()
                if now < start:
                    settled = True
                    break
                pages = 0
                for page in self._orders.pages(start, now):
                    pages += 1
                    for order in page.orders:
                        listed.defer(order)
                start = now
                if pages <= 1:
                    settled = True
                    break
        except PagingError:  # the order tables are complete: this must not fail them
            pass
        if not settled:
            self._logger.warning(
                "Orders kept changing while order_ids was read: orders changed in the last seconds are listed next sync."
            )
        emitted_at = int(time.time() * 1000)
        for order in listed.deferred_not_listed():
            for row in splitter.rows(ORDER_IDS, order):
                if not ids_table.has_records:
                    ids_table.has_records = True
                    yield stream_status_message(ids_table.configured.stream, AirbyteStreamStatus.RUNNING)
                record = AirbyteRecordMessage(stream=ORDER_IDS, data=row, emitted_at=emitted_at)
                yield AirbyteMessage(type=Type.RECORD, record=record)

    def _states(self, checkpoint: Optional[str], final: bool) -> Iterator[AirbyteMessage]:
        for table in self._tables:
            if not table.incremental:
                if final:  # as the CDK ends a full refresh: the platform counts a stream done by its state
                    yield _state_message(table.name, AirbyteStateBlob(**{NO_CURSOR_STATE_KEY: True}))
                continue
            if checkpoint is None:
                cursor = table.saved_cursor
            else:
                cursor = later_cursor(table.saved_cursor, checkpoint)
            if cursor == table.emitted_cursor and not (final and table.emitted_cursor is None):
                continue
            table.emitted_cursor = cursor
            blob = {table.cursor_field: cursor} if cursor else {}
            yield _state_message(table.name, AirbyteStateBlob(**blob, **self._folders_covered))


def folders_added(saved: Any, folder_ids: Sequence[int]) -> Optional[str]:
    """The folders a sync with these Folder IDs reads that the sync which saved the state did not, in words;
    None if there are none. A state without folder ids was saved reading every folder."""
    if saved is None:
        return None
    try:
        covered = {int(folder) for folder in saved}
    except (TypeError, ValueError):
        return f"folders that the saved state cannot name (its {FOLDERS_KEY} is {str(saved)[:60]})"
    if not folder_ids:
        return "every folder"
    added = sorted(set(folder_ids) - covered)
    if not added:
        return None
    return f"folder{'s' if len(added) > 1 else ''} {', '.join(map(str, added))}"


def _state_message(stream: str, blob: AirbyteStateBlob) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name=stream), stream_state=blob),
        ),
    )


class _ListedIds:
    """What order_ids lists, so that an order read again after it changed is listed once.

    Orders of the pass's last second (still open when the pass began: orders changed since joined it) and
    orders changed after it are held back and listed at the end, unless an older version was listed. The
    listed ids take 8 bytes each (Order Desk's ids are numbers; 800 kB for 100,000 orders), only when
    order_ids is selected."""

    def __init__(self, last_second: str) -> None:
        self._last_second = last_second
        self._numbers = array("q")
        self._others: set[str] = set()
        self._deferred: dict[str, Mapping[str, Any]] = {}  # the latest version read of each held-back order

    def add_or_defer(self, order: Mapping[str, Any], updated: str) -> bool:
        """Lists the order now (False), or holds it back (True)."""
        if updated >= self._last_second:
            self.defer(order)
            return True
        order_id = str(order.get("id"))
        number = _as_number(order_id)
        if number is None:
            self._others.add(order_id)
        else:
            self._numbers.append(number)
        return False

    def defer(self, order: Mapping[str, Any]) -> None:
        # Only what an order_ids row is cut from: a bulk import in the last second may hold thousands of orders.
        self._deferred[str(order.get("id"))] = {field: order.get(field) for field in ORDER_IDS_FIELDS}

    def deferred_not_listed(self) -> list[Mapping[str, Any]]:
        """The held-back orders of which no version was listed; one scan of the listed ids."""
        numbers = {order_id: _as_number(order_id) for order_id in self._deferred}
        wanted = {number for number in numbers.values() if number is not None}
        found = {number for number in self._numbers if number in wanted} if wanted else set()
        return [
            row
            for order_id, row in self._deferred.items()
            if not (order_id in self._others if numbers[order_id] is None else numbers[order_id] in found)
        ]


def _as_number(order_id: str) -> Optional[int]:
    """The id as a 64-bit integer, if it is one written canonically ("0123" is not: it stays text)."""
    if order_id.isascii() and order_id.isdigit() and len(order_id) < 19 and order_id == str(int(order_id)):
        return int(order_id)
    return None


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
