"""End to end through PyAirbyte: the connector's console script, a DuckDB cache, two syncs.

A sandbox store (rate limit on) is synced twice into a DuckDB cache, the way `make demo` does it
(demo/pipeline.py): the incremental streams merged on their primary keys from the state PyAirbyte
keeps in the cache, the full-refresh-only streams replaced. Between the syncs, orders are modified
(some lose line items, notes, shipments, discounts and name/value fields; one moves to another
folder), added and deleted. The destination must then hold exactly the sandbox's current data,
read the way docs/orderdesk.md says: orders joined to `order_ids` (deleted orders stay in the
deduplicated tables), child rows whose `order_date_updated` equals their order's `date_updated`.
"""

from __future__ import annotations

import importlib.util
import json
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from orderdesk_sandbox import Sandbox

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("airbyte") is None,
        reason="PyAirbyte (package `airbyte`, the [demo] extra) is not installed: pip install -e '.[tests,demo]'",
    ),
]

ORDERS = 300
SEED = 11
PAGE_SIZE = 100  # several pages per pass, so paging is part of the run

ORDER_TABLES = {
    "orders": ("id",),
    "order_items": ("order_id", "id"),
    "order_items_variation_list": ("order_id", "order_item_id", "name"),
    "order_checkout_data": ("order_id", "name"),
    "order_metadata": ("order_id", "name"),
    "order_discount_list": ("order_id", "position"),
    "order_notes": ("order_id", "position"),
    "order_shipments": ("id",),
}
CHILD_TABLES = [name for name in ORDER_TABLES if name != "orders"]
SNAPSHOT_TABLES = {"order_ids": ("id",), "folders": ("id",), "store": ("id",), "inventory_items": ("id",)}
ALL_TABLES = {**ORDER_TABLES, **SNAPSHOT_TABLES}
SECRET_WORDS = ("key", "password", "token", "secret")


@dataclass
class Changes:
    shrunk: dict[str, list[str]]  # what was removed ("items", "notes", ...) -> order ids
    moved: tuple[str, int]  # (order id, new folder id)
    modified: list[str]
    added: list[str]
    deleted: list[str]

    def changed_orders(self) -> set[str]:
        shrunk = {order_id for ids in self.shrunk.values() for order_id in ids}
        return shrunk | {self.moved[0], *self.modified, *self.added}


@dataclass
class Run:
    sandbox: Sandbox
    pipeline: Any  # demo.pipeline.Pipeline
    first: Any  # demo.pipeline.SyncResult
    second: Any
    changes: Changes
    fresh: dict[str, set[tuple]]  # each table's rows (every column but Airbyte's own) in a fresh cache, synced once at the end

    def rows(self, sql: str) -> set[tuple]:
        return {tuple(row.values()) for row in self.pipeline.query(sql)}


def _live_sql(table: str, where: str = "", columns: str = "") -> str:
    """Rows of orders that still exist (joined to order_ids), with an optional condition on the child row `c`
    and its order `o`. Selects the table's primary key unless `columns` says otherwise."""
    columns = columns or ", ".join(f"c.{column}" for column in ORDER_TABLES[table])
    if table == "orders":
        return f"SELECT {columns.replace('c.', 'o.')} FROM orders o JOIN order_ids d ON d.id = o.id"
    sql = f"SELECT {columns} FROM {table} c JOIN orders o ON o.id = c.order_id JOIN order_ids d ON d.id = o.id"
    return f"{sql} WHERE {where}" if where else sql


def _data_columns(pipeline: Any, table: str) -> list[str]:
    """The table's columns but PyAirbyte's own (`_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`)."""
    names = pipeline.query(
        f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY column_name"
    )
    return [row["column_name"] for row in names if not row["column_name"].startswith("_airbyte_")]


def _table_rows(pipeline: Any, table: str, sql: str = "") -> set[tuple]:
    columns = ", ".join(f'"{column}"' for column in _data_columns(pipeline, table))
    source = f"({sql}) AS live" if sql else f'"{table}"'
    return {tuple(_hashable(value) for value in row.values()) for row in pipeline.query(f"SELECT {columns} FROM {source}")}


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


# The documented readings (docs/orderdesk.md, "Finding removed child rows").
CURRENT = "c.order_date_updated = o.date_updated"
STALE = "c.order_date_updated < o.date_updated"


def _change_store(sandbox: Sandbox) -> Changes:
    """Deterministic changes: shrinking edits and a folder move by hand, then the sandbox's own edits."""
    store = sandbox.store
    rng = random.Random(SEED)
    ids = sorted(store.order_ids(), key=int)
    rng.shuffle(ids)
    used: set[str] = set()
    shrunk: dict[str, list[str]] = {
        kind: [] for kind in ("items", "notes", "shipments", "discounts", "checkout_data", "metadata")
    }
    # Each shrinking edit removes the last element of a collection, as a user deleting it in Order Desk would.
    removals = {
        "items": ("order_items", 2),  # keep at least one item
        "notes": ("order_notes", 1),
        "shipments": ("order_shipments", 1),
        "discounts": ("discount_list", 1),
    }
    for order_id in ids:
        order = store.order(order_id)
        touched = False
        for kind, (field, minimum) in removals.items():
            values = order.get(field)
            if len(shrunk[kind]) < 3 and isinstance(values, list) and len(values) >= minimum:
                values.pop()
                shrunk[kind].append(order_id)
                touched = True
        for kind, field in (("checkout_data", "checkout_data"), ("metadata", "order_metadata")):
            values = order.get(field)
            if len(shrunk[kind]) < 3 and isinstance(values, dict) and values:
                values.pop(sorted(values)[-1])
                shrunk[kind].append(order_id)
                touched = True
        if touched:
            order["date_updated"] = store.now_text()
            store.put_raw(order)
            used.add(order_id)
        if all(len(orders) == 3 for orders in shrunk.values()):
            break
    rest = [order_id for order_id in ids if order_id not in used]
    moved_id = rest.pop()
    moved = store.order(moved_id)
    moved["folder_id"] = next(int(f) for f in sorted(store.profile.folders) if int(f) != moved.get("folder_id"))
    moved["date_updated"] = store.now_text()
    store.put_raw(moved)
    modified, deleted = rest[:8], rest[8:13]
    store.modify(ids=modified, rng_seed=SEED)
    store.delete(ids=deleted)
    added = store.add(5)
    return Changes(shrunk, (moved_id, moved["folder_id"]), modified, added, deleted)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    from demo.pipeline import quiet_environment

    workdir = tmp_path_factory.mktemp("e2e-pyairbyte")
    quiet_environment(workdir / "logs")  # before PyAirbyte is first imported (by Pipeline)
    from demo.connector import find_executable
    from demo.pipeline import Pipeline

    sandbox = Sandbox.start(orders=ORDERS, seed=SEED, rate_limit=True)
    pipeline = None
    try:
        pipeline = Pipeline(sandbox.config(page_size=PAGE_SIZE), find_executable(), workdir / "orderdesk.duckdb")
        first = pipeline.sync()
        assert pipeline.row_counts()["orders"] == ORDERS, "the first sync did not bring every order"
        changes = _change_store(sandbox)
        second = pipeline.sync()
        fresh_pipeline = Pipeline(sandbox.config(page_size=PAGE_SIZE), find_executable(), workdir / "fresh.duckdb")
        try:
            fresh_pipeline.sync()
            fresh = {table: _table_rows(fresh_pipeline, table) for table in ORDER_TABLES}
        finally:
            fresh_pipeline.close()
        yield Run(sandbox, pipeline, first, second, changes, fresh)
    finally:
        if pipeline is not None:
            pipeline.close()
        sandbox.stop()


def test_given_two_syncs_with_changes_when_live_current_rows_are_selected_then_every_table_holds_the_sandbox_data(run: Run):
    expected = run.sandbox.store.expected_keys()
    expected["order_ids"] = {(order_id,) for order_id in run.sandbox.store.order_ids()}
    for table in ORDER_TABLES:
        assert run.rows(_live_sql(table, CURRENT)) == expected[table], table
    for table in ("order_ids", "folders", "inventory_items"):
        assert run.rows(f"SELECT id FROM {table}") == expected[table], table


def test_given_two_syncs_with_changes_when_live_current_rows_are_selected_then_every_value_equals_a_fresh_full_sync(run: Run):
    # Keys alone would not show a row left at an older version: compare every column with a new cache synced once.
    for table in ORDER_TABLES:
        live = _table_rows(run.pipeline, table, _live_sql(table, CURRENT, "c.*"))
        assert live == run.fresh[table], f"{table}: {len(live - run.fresh[table])} rows differ from a fresh sync"
    assert run.fresh["orders"], "the comparison is not vacuous"


def test_given_deleted_orders_when_synced_again_then_they_stay_in_orders_and_are_exactly_the_orders_missing_from_order_ids(
    run: Run,
):
    assert run.changes.deleted, "the scenario deletes orders"
    missing = run.rows("SELECT o.id FROM orders o WHERE o.id NOT IN (SELECT id FROM order_ids)")
    assert missing == {(order_id,) for order_id in run.changes.deleted}
    # Their child rows stay too, and the same join drops them.
    orphans = run.rows("SELECT DISTINCT c.order_id FROM order_items c WHERE c.order_id NOT IN (SELECT id FROM order_ids)")
    assert orphans <= missing
    assert orphans, "deleted orders with line items keep their rows in the deduplicated child tables"


def test_given_changed_orders_when_synced_incrementally_then_each_live_order_has_its_latest_date_updated_and_folder(run: Run):
    current = {str(order["id"]): order for order in run.sandbox.store.orders_snapshot()}
    synced = {
        row["id"]: row
        for row in run.pipeline.query("SELECT o.id, o.date_updated, o.folder_id FROM orders o JOIN order_ids d ON d.id = o.id")
    }
    assert synced.keys() == current.keys()
    for order_id, order in current.items():
        row = synced[order_id]
        assert _api_time(row["date_updated"]) == order["date_updated"], order_id
        assert row["folder_id"] == str(order["folder_id"]), order_id
    moved_id, folder_id = run.changes.moved
    assert synced[moved_id]["folder_id"] == str(folder_id)
    order_ids = {row["id"]: row for row in run.pipeline.query("SELECT id, date_updated, folder_id FROM order_ids")}
    assert order_ids[moved_id]["folder_id"] == str(folder_id)
    assert _api_time(order_ids[moved_id]["date_updated"]) == current[moved_id]["date_updated"]


def test_given_the_merge_write_strategy_when_synced_twice_then_no_table_has_a_duplicate_primary_key(run: Run):
    for table, key in ALL_TABLES.items():
        columns = ", ".join(key)
        duplicates = run.pipeline.query(f"SELECT {columns}, count(*) AS n FROM {table} GROUP BY {columns} HAVING count(*) > 1")
        assert duplicates == [], table


def test_given_orders_that_lost_child_elements_when_synced_then_stale_child_rows_are_exactly_the_rows_no_longer_in_the_order(
    run: Run,
):
    expected = run.sandbox.store.expected_keys()
    changed = run.changes.changed_orders()
    for table in CHILD_TABLES:
        stale = run.rows(_live_sql(table, STALE))
        assert stale == run.rows(_live_sql(table)) - expected[table], table
        # Only orders changed between the syncs can have lost rows.
        assert run.rows(_live_sql(table, STALE, "DISTINCT c.order_id")) <= {(order_id,) for order_id in changed}, table
    # The scenario did remove elements of every kind, so the checks above were not vacuous.
    for table, kind in (
        ("order_items", "items"),
        ("order_items_variation_list", "items"),
        ("order_notes", "notes"),
        ("order_shipments", "shipments"),
        ("order_discount_list", "discounts"),
        ("order_checkout_data", "checkout_data"),
        ("order_metadata", "metadata"),
    ):
        assert run.changes.shrunk[kind], kind
        if table != "order_items_variation_list":
            assert run.rows(_live_sql(table, STALE)), f"{table}: no stale rows although {kind} were removed"


def test_given_the_second_sync_when_it_reads_the_order_tables_then_it_reads_only_changed_orders_and_the_lookback(run: Run):
    orders_read = run.second.records["orders"]
    assert orders_read >= len(run.changes.changed_orders())
    assert orders_read < ORDERS, "the second sync re-read the whole store instead of reading incrementally"
    # The full-refresh tables are read in full every time.
    assert run.second.records["order_ids"] == len(run.sandbox.store)


def test_given_store_settings_holding_secrets_when_synced_then_the_store_table_has_no_secret_looking_setting(run: Run):
    raw_settings = run.sandbox.store.profile.settings
    assert {"api_key", "smtp_password"} <= raw_settings.keys(), "the sandbox's store serves secrets to filter"
    (row,) = run.pipeline.query("SELECT * FROM store")
    store = {name: value for name, value in row.items() if not name.startswith("_airbyte")}
    settings = store["settings"]
    settings = json.loads(settings) if isinstance(settings, str) else settings
    assert settings, "the store's settings were synced"
    names = _keys(store) | _keys(settings)
    assert not [name for name in names if any(word in name.lower() for word in SECRET_WORDS)]
    text = json.dumps(store, default=str)
    assert run.sandbox.api_key not in text
    assert raw_settings["smtp_password"] not in text


def test_given_state_from_a_previous_read_when_folders_and_store_are_read_again_with_pyairbyte_defaults_then_they_emit_rows(
    run: Run, tmp_path: Path
):
    from airbyte.caches import DuckDBCache

    cache = DuckDBCache(db_path=tmp_path / "defaults.duckdb", schema_name="main", cache_dir=tmp_path / "batches")
    try:
        source = run.pipeline.source
        counts = []
        for _ in range(2):
            result = source.read(cache, streams=["folders", "store"])  # PyAirbyte's defaults: state kept in the cache
            counts.append(dict(result._progress_tracker.stream_read_counts))
        assert counts[0] == {"folders": len(run.sandbox.store.profile.folders), "store": 1}
        assert counts[1] == counts[0]
    finally:
        cache.close()


def _api_time(value: Any) -> str:
    """A synced timestamp (DuckDB TIMESTAMP, UTC) in Order Desk's layout."""
    assert isinstance(value, datetime), value
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _keys(value: Any) -> set[str]:
    """Every key of a JSON-like value, at any depth."""
    if isinstance(value, dict):
        return {str(key) for key in value} | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()
