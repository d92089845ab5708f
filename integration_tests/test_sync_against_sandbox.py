"""Whole syncs run exactly as Airbyte runs them, `python main.py read --config ... --catalog ... [--state ...]` in a
subprocess, against a live local Order Desk sandbox over HTTP, compared with the sandbox's own data.

Covered: every stream's primary keys equal the sandbox's, records fit the discovered schemas, the order tables cost
one pass over `/orders` whatever is selected, unselected streams cost nothing, the rate limit is respected, incremental
syncs re-read exactly what changed plus the lookback window, bulk seconds (more orders in one second than a page, also
with shuffled ties or an ignored `order_by`), the folder filter, full refresh mode, and secrets kept out of `store`.

Runtime is bounded: one sandbox (rate limit off) serves the read-only tests, and each sync that needs its own sandbox
(rate limiting, mutations, API quirks) uses a small one. Each sync starts the connector once (about 4 s).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Optional

import jsonschema
import pytest

from integration_tests.helpers import ROOT, ConnectorRun, configured_catalog, key_of, primary_keys, run_connector
from orderdesk_sandbox import Sandbox
from orderdesk_sandbox.tables import CHILD_TABLES, ORDER_TABLES

OTHER_STREAMS = ("folders", "store", "inventory_items")
ALL_STREAMS = (*ORDER_TABLES, "order_ids", *OTHER_STREAMS)
LIST_ENDPOINTS = {"/test", "/orders", "/store", "/inventory-items"}

# The shared read-only store: more than 1,000 orders, one second holding 120 of them (more than a page).
SANDBOX_ORDERS = 1200
SANDBOX_SEED = 11
PAGE_SIZE = 50
# Order Desk's bucket: 20 requests, refilled at 3 per second.
BUCKET_CAPACITY = 20
BUCKET_REFILL_PER_SECOND = 3.0


# ----------------------------------------------------------------------------------------------- helpers


@dataclass
class Sync:
    """One `read` and what the sandbox saw while it ran."""

    run: ConnectorRun
    requests: Counter  # API path -> requests
    log: list  # (method, path, params, status, monotonic time) per request
    served_429: int

    def params_of(self, path: str) -> list[dict]:
        return [params for _, logged_path, params, _, _ in self.log if logged_path == path]


def _sync(
    sandbox: Sandbox,
    workdir: Path,
    catalog: Mapping[str, Any],
    state: Optional[list] = None,
    **config_overrides: Any,
) -> Sync:
    """Reset the sandbox's counters, run one read, and check that it succeeded as a protocol exchange."""
    sandbox.stats.reset()
    config = sandbox.config(**{"page_size": PAGE_SIZE, **config_overrides})
    run = run_connector("read", workdir, config=config, catalog=catalog, state=state)
    run.assert_succeeded()
    stats = sandbox.stats
    return Sync(run, Counter(stats.requests_by_path), list(stats.log), stats.served_429)


def _orders_requests_without_sync_end(sync: Sync) -> list[dict]:
    """The `/orders` parameters of a sync, its upper bound (the first request's end) replaced by a placeholder."""
    requests = sync.params_of("/orders")
    sync_end = requests[0]["modified_end_date"]
    return [
        {**params, "modified_end_date": "<end>"} if params["modified_end_date"] == sync_end else params for params in requests
    ]


def _seconds_over(sandbox: Sandbox, size: int) -> list[int]:
    """Order counts of the date_updated seconds that hold more than `size` orders."""
    per_second = Counter(order["date_updated"] for order in sandbox.store.orders_snapshot())
    return sorted(count for count in per_second.values() if count > size)


def _utc(value: str) -> datetime:
    """An RFC 3339 cursor (`...Z`) or an Order Desk timestamp (`YYYY-MM-DD HH:MM:SS`, UTC) as an aware datetime."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _rfc3339(value: str) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sandbox_keys(sandbox: Sandbox) -> dict[str, set[tuple]]:
    """Every stream's expected primary keys: the sandbox's own, plus `order_ids` and the single `store` row."""
    expected = sandbox.store.expected_keys()
    expected["order_ids"] = set(expected["orders"])
    expected["store"] = {(sandbox.store_id,)}
    return expected


def _owner_of(sandbox: Sandbox) -> dict[str, Any]:
    """Per child table, a function from a primary key to the id of the order that holds the row."""
    shipment_order = {
        str(shipment["id"]): str(order["id"])
        for order in sandbox.store.orders_snapshot()
        if isinstance(order.get("order_shipments"), list)
        for shipment in order["order_shipments"]
        if isinstance(shipment, dict)
    }
    return {
        table: (lambda key: shipment_order[key[0]]) if table == "order_shipments" else (lambda key: key[0])
        for table in CHILD_TABLES
    }


def _emitted_keys(run: ConnectorRun, keys: Mapping[str, list[str]], stream: str) -> list[tuple]:
    return [key_of(record, keys[stream]) for record in run.records(stream)]


def _date_time(value: object) -> bool:
    """RFC 3339 date-time (jsonschema checks `date-time` only with an optional package, so it is checked here)."""
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=["date"])  # the standard, dependency-free `date` check
    checker.checks("date-time")(_date_time)
    return checker


_SECRET_WORDS = {"key", "apikey", "password", "passwd", "pwd", "secret", "token", "smtp", "credential", "credentials"}


def _secret_looking_paths(value: Any, path: str = "") -> list[str]:
    """Paths of every mapping key at any depth whose words (split on _, -, spaces, camelCase) name a secret."""
    found = []
    if isinstance(value, dict):
        for name, item in value.items():
            words = {word.lower() for word in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", str(name))}
            if words & _SECRET_WORDS:
                found.append(f"{path}.{name}")
            found += _secret_looking_paths(item, f"{path}.{name}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found += _secret_looking_paths(item, f"{path}[{position}]")
    return found


def _assert_states_monotonic(run: ConnectorRun, table: str, field: str, floor: Optional[datetime]) -> list[datetime]:
    """A table's cursors within one sync never decrease, nor drop below `floor` (the saved cursor)."""
    cursors = [_utc(state[field]) for state in run.states(table)]
    assert cursors, f"{table} emitted no state"
    assert cursors == sorted(cursors), f"{table}'s state moved backwards within the sync"
    if floor is not None:
        assert cursors[0] >= floor, f"{table}'s state moved back from the saved {floor} to {cursors[0]}"
    return cursors


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sandbox():
    """The read-only store for most tests: rate limit off (limiting is tested on its own sandbox)."""
    server = Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def discovered(sandbox, tmp_path_factory) -> dict[str, Any]:
    run = run_connector("discover", tmp_path_factory.mktemp("discover"), config=sandbox.config())
    run.assert_succeeded()
    return run.catalog


@pytest.fixture(scope="module")
def keys(discovered) -> dict[str, list[str]]:
    return primary_keys(discovered)


@pytest.fixture(scope="module")
def expected(sandbox) -> dict[str, set[tuple]]:
    return _sandbox_keys(sandbox)


@pytest.fixture(scope="module")
def full_sync(sandbox, discovered, tmp_path_factory) -> Sync:
    """Every stream: the order tables incremental (no state yet), order_ids and the other streams as full refresh."""
    modes = {name: "incremental" for name in ORDER_TABLES} | {name: "full_refresh" for name in ("order_ids", *OTHER_STREAMS)}
    return _sync(sandbox, tmp_path_factory.mktemp("full"), configured_catalog(discovered, modes))


@pytest.fixture(scope="module")
def order_tables_sync(sandbox, discovered, tmp_path_factory) -> Sync:
    """The eight order tables alone, incremental."""
    return _sync(
        sandbox, tmp_path_factory.mktemp("tables"), configured_catalog(discovered, dict.fromkeys(ORDER_TABLES, "incremental"))
    )


@pytest.fixture(scope="module")
def orders_only_sync(sandbox, discovered, tmp_path_factory) -> Sync:
    return _sync(sandbox, tmp_path_factory.mktemp("orders"), configured_catalog(discovered, {"orders": "incremental"}))


# ------------------------------------------------------------------------------------- full sync, schemas


def test_given_a_full_sync_when_read_then_every_stream_emits_the_sandbox_record_count_and_primary_keys(full_sync, keys, expected):
    for stream in ALL_STREAMS:
        emitted = _emitted_keys(full_sync.run, keys, stream)
        assert emitted, f"{stream} emitted no record"
        assert len(emitted) == len(expected[stream]), (
            f"{stream}: {len(emitted)} records, the sandbox holds {len(expected[stream])}"
        )
        assert set(emitted) == expected[stream], stream


def test_given_a_full_sync_when_read_then_no_primary_key_is_emitted_twice_in_any_stream(full_sync, keys):
    for stream in ALL_STREAMS:
        counts = Counter(_emitted_keys(full_sync.run, keys, stream))
        repeated = [key for key, count in counts.items() if count > 1]
        assert not repeated, f"{stream} emitted {len(repeated)} primary keys more than once, e.g. {repeated[:3]}"


def test_given_a_full_sync_when_read_then_every_stdout_line_is_a_json_airbyte_message(full_sync):
    lines = [line for line in full_sync.run.stdout.splitlines() if line.strip()]
    assert lines
    assert full_sync.run.non_json_lines == []
    assert len(full_sync.run.messages) == len(lines)
    types = Counter(message.get("type") for message in full_sync.run.messages)
    assert set(types) <= {"RECORD", "STATE", "LOG", "TRACE"}, types
    assert types["RECORD"] > 0 and types["STATE"] > 0


def test_given_the_discovered_schemas_when_full_sync_records_are_validated_then_all_conform_including_date_formats(
    full_sync, discovered
):
    checker = _format_checker()
    assert not checker.conforms("2024-01-02 03:04:05", "date-time") and not checker.conforms("2024-02-30", "date")
    validators = {
        stream["name"]: jsonschema.Draft7Validator(stream["json_schema"], format_checker=checker)
        for stream in discovered["streams"]
    }
    for stream, records in full_sync.run.records_by_stream().items():
        validator = validators[stream]
        invalid = [record for record in records if not validator.is_valid(record)]
        if invalid:
            error = next(validator.iter_errors(invalid[0]))
            pytest.fail(f"{len(invalid)} {stream} records break the schema, e.g. at {list(error.absolute_path)}: {error.message}")
    assert set(full_sync.run.records_by_stream()) == set(ALL_STREAMS)


def test_given_the_store_stream_when_read_then_its_single_row_holds_no_secret_setting_at_any_depth(full_sync, sandbox):
    (row,) = full_sync.run.records("store")
    assert row["id"] == sandbox.store_id
    raw_settings = sandbox.store.profile.settings
    assert {"api_key", "smtp_password"} <= set(raw_settings), "the sandbox's settings should hold secrets to remove"
    assert row["settings"]["timezone"] == raw_settings["timezone"], "ordinary settings are kept"
    assert _secret_looking_paths(row) == []
    secrets = [sandbox.api_key, raw_settings["smtp_password"]]
    leaked = [
        position for position, secret in enumerate(secrets) if secret in full_sync.run.stdout or secret in full_sync.run.stderr
    ]
    assert not leaked, "a secret of the store's settings appears in the connector's output"


# -------------------------------------------------------------------------------------------- requests


def test_given_all_eight_order_tables_when_read_then_orders_requests_are_exactly_those_of_orders_alone(
    order_tables_sync, orders_only_sync
):
    assert order_tables_sync.requests["/orders"] == orders_only_sync.requests["/orders"]
    # The same requests, page for page; only each sync's upper bound (Order Desk's clock at its start) differs.
    assert _orders_requests_without_sync_end(order_tables_sync) == _orders_requests_without_sync_end(orders_only_sync)
    assert order_tables_sync.requests["/test"] == orders_only_sync.requests["/test"] == 1, "one clock read per sync"


def test_given_order_ids_as_well_when_read_then_the_same_pass_plus_at_most_one_look_at_orders_changed_meanwhile(
    full_sync, orders_only_sync
):
    # The same pass, then (for order_ids) the orders updated since the pass's upper bound: none changed
    # here, so one more clock read and one page at most (none if the clock had not moved on).
    pass_requests = _orders_requests_without_sync_end(orders_only_sync)
    assert _orders_requests_without_sync_end(full_sync)[: len(pass_requests)] == pass_requests
    extra = full_sync.params_of("/orders")[len(pass_requests) :]
    assert len(extra) <= 1 and full_sync.requests["/test"] == 2
    if extra:
        assert extra[0]["modified_start_date"] > full_sync.params_of("/orders")[0]["modified_end_date"]


def test_given_a_full_sync_when_read_then_orders_requests_stay_within_one_pass_over_the_store(order_tables_sync, sandbox):
    bound = math.ceil(len(sandbox.store) / PAGE_SIZE) * 1.1 + 2
    assert 0 < order_tables_sync.requests["/orders"] <= bound


def test_given_a_full_sync_when_read_then_only_list_endpoints_are_requested_and_never_one_order(full_sync):
    assert set(full_sync.requests) <= LIST_ENDPOINTS, full_sync.requests
    assert full_sync.requests["/test"] == 2, "one clock read per sync, and one for order_ids after the pass"
    assert full_sync.requests["/store"] == 1, "folders and store are cut from one answer of /store"
    assert full_sync.requests["/inventory-items"] >= 1


def test_given_only_folders_selected_when_read_then_exactly_one_store_request_is_made(sandbox, discovered, tmp_path):
    sync = _sync(sandbox, tmp_path, configured_catalog(discovered, {"folders": "full_refresh"}))
    assert sync.requests == Counter({"/store": 1})
    assert {record["id"] for record in sync.run.records("folders")} == set(sandbox.store.profile.folders)


def test_given_inventory_items_and_store_not_selected_when_orders_are_read_then_neither_is_requested(orders_only_sync):
    assert set(orders_only_sync.requests) == {"/test", "/orders"}
    assert set(orders_only_sync.run.records_by_stream()) == {"orders"}


# ------------------------------------------------------------------------------------------ rate limit


@dataclass
class LimitedRun:
    sync: Sync
    orders: int
    bulk_seconds: list[int]  # sizes of the seconds holding more than a page


@pytest.fixture(scope="module")
def rate_limited(discovered, tmp_path_factory) -> LimitedRun:
    """2,000 orders at 50 a page, with Order Desk's bucket on; orders, folders and inventory share the budget."""
    modes = {"orders": "incremental", "folders": "full_refresh", "inventory_items": "full_refresh"}
    with Sandbox.start(orders=2000, seed=3, rate_limit=True) as limited:
        sync = _sync(limited, tmp_path_factory.mktemp("limited"), configured_catalog(discovered, modes))
        emitted = Counter(record["id"] for record in sync.run.records("orders"))
        assert set(emitted) == limited.store.order_ids() and set(emitted.values()) == {1}
        return LimitedRun(sync, len(limited.store), _seconds_over(limited, PAGE_SIZE))


def test_given_rate_limiting_on_when_a_sync_of_many_pages_runs_then_no_429_is_served_and_every_window_fits_the_bucket(
    rate_limited,
):
    sync = rate_limited.sync
    assert sync.requests["/orders"] >= 40, "the sync should need at least 40 pages"
    assert sync.served_429 == 0
    times = sorted(logged[4] for logged in sync.log)
    assert len(times) == sum(sync.requests.values())
    # The requests from the i-th to the j-th (inclusive) may exceed the refill of that time by the bucket's capacity only.
    worst = max(
        j - i + 1 - BUCKET_REFILL_PER_SECOND * (times[j] - times[i]) for i in range(len(times)) for j in range(i, len(times))
    )
    assert worst <= BUCKET_CAPACITY, f"{worst:.2f} requests beyond the refill in one window; the bucket holds {BUCKET_CAPACITY}"


def test_given_several_bulk_seconds_larger_than_a_page_when_read_then_each_costs_at_most_two_extra_orders_requests(
    rate_limited,
):
    """Each second holding more than a page costs one keyset page that is re-read by id, and one part-filled last page."""
    assert len(rate_limited.bulk_seconds) >= 2, rate_limited.bulk_seconds
    bound = math.ceil(rate_limited.orders / PAGE_SIZE) * 1.1 + 2 + 2 * len(rate_limited.bulk_seconds)
    assert rate_limited.sync.requests["/orders"] <= bound


# ----------------------------------------------------------------------------------------- incremental

INCREMENTAL_ORDERS = 600
INCREMENTAL_SEED = 5
LOOKBACK_MINUTES = 7 * 24 * 60


@dataclass
class IncrementalScenario:
    sandbox: Sandbox
    first: Sync
    saved: dict[str, datetime]  # table -> the first sync's final cursor
    changed: set[str]
    added: set[str]
    deleted: set[str]
    snapshot: dict[str, dict]  # order id -> payload after the changes
    expected_keys: dict[str, set[tuple]]
    owner: dict[str, Any]
    second: Sync  # from the saved state, lookback LOOKBACK_MINUTES
    no_lookback: Sync  # from the same state, lookback 0


@pytest.fixture(scope="module")
def incremental(discovered, tmp_path_factory):
    """A full sync, then orders modified, added and deleted, then two syncs from the full sync's final state."""
    modes = {name: "incremental" for name in ORDER_TABLES} | {"order_ids": "full_refresh"}
    catalog = configured_catalog(discovered, modes)
    cursor_fields = {stream["name"]: stream.get("default_cursor_field", []) for stream in discovered["streams"]}
    with Sandbox.start(orders=INCREMENTAL_ORDERS, seed=INCREMENTAL_SEED, rate_limit=False) as server:
        first = _sync(server, tmp_path_factory.mktemp("first"), catalog, lookback_window_minutes=LOOKBACK_MINUTES)
        state = first.run.final_state()
        saved = {
            message["stream"]["stream_descriptor"]["name"]: _utc(
                message["stream"]["stream_state"][cursor_fields[message["stream"]["stream_descriptor"]["name"]][0]]
            )
            for message in state
            if cursor_fields[message["stream"]["stream_descriptor"]["name"]]  # order_ids ends with a no-cursor state
        }
        newest = max(saved.values())
        window_start = newest - timedelta(minutes=LOOKBACK_MINUTES)
        old = sorted(str(order["id"]) for order in server.store.orders_snapshot() if _utc(order["date_updated"]) < window_start)
        deleted = set(server.store.delete(ids=old[:2]))
        changed = set(server.store.modify(ids=old[2:10]))
        added = set(server.store.add(3))
        snapshot = {str(order["id"]): order for order in server.store.orders_snapshot()}
        second = _sync(server, tmp_path_factory.mktemp("second"), catalog, state, lookback_window_minutes=LOOKBACK_MINUTES)
        no_lookback = _sync(server, tmp_path_factory.mktemp("no_lookback"), catalog, state, lookback_window_minutes=0)
        yield IncrementalScenario(
            server, first, saved, changed, added, deleted, snapshot, _sandbox_keys(server), _owner_of(server), second, no_lookback
        )


def test_given_a_first_full_sync_when_it_ends_then_every_order_table_saves_the_newest_date_updated(incremental):
    assert sorted(incremental.saved) == sorted(ORDER_TABLES), "a final cursor per incremental table"
    final = {
        state["stream"]["stream_descriptor"]["name"]: state["stream"]["stream_state"]
        for state in incremental.first.run.final_state()
    }
    assert final["order_ids"] == {"__ab_no_cursor_state_message": True}, "order_ids ends as the CDK ends a full refresh"
    assert len(incremental.first.run.records("orders")) == INCREMENTAL_ORDERS
    newest = max(_utc(record["date_updated"]) for record in incremental.first.run.records("orders"))
    assert incremental.saved == {table: newest for table in ORDER_TABLES}
    for table in ORDER_TABLES:
        field = "date_updated" if table == "orders" else "order_date_updated"
        assert len(_assert_states_monotonic(incremental.first.run, table, field, None)) > 1, "a checkpoint per page"


def test_given_changed_and_added_orders_when_read_from_saved_state_then_exactly_those_and_the_lookback_window_are_emitted(
    incremental,
):
    saved = incremental.saved["orders"]
    window_start = saved - timedelta(minutes=LOOKBACK_MINUTES)
    expected = {order_id for order_id, order in incremental.snapshot.items() if _utc(order["date_updated"]) >= window_start}
    in_window_only = expected - incremental.changed - incremental.added
    assert in_window_only, "the lookback window should hold unchanged orders (pick another seed or lookback)"
    assert len(expected) < INCREMENTAL_ORDERS / 4, "the saved state should skip most of the store"
    assert incremental.changed | incremental.added <= expected

    emitted = [record["id"] for record in incremental.second.run.records("orders")]
    assert len(emitted) == len(set(emitted)), "an order emitted twice in one sync"
    assert set(emitted) == expected
    for record in incremental.second.run.records("orders"):
        assert record["date_updated"] == _rfc3339(incremental.snapshot[record["id"]]["date_updated"])


def test_given_changed_orders_when_read_from_saved_state_then_their_child_rows_carry_the_new_order_date_updated(
    incremental, keys
):
    saved = incremental.saved["orders"]
    emitted_orders = {record["id"] for record in incremental.second.run.records("orders")}
    renewed = incremental.changed | incremental.added
    for table in CHILD_TABLES:
        rows = incremental.second.run.records(table)
        for row in rows:
            assert row["order_id"] in emitted_orders, f"{table} row of an order that was not re-read"
            assert row["order_date_updated"] == _rfc3339(incremental.snapshot[row["order_id"]]["date_updated"]), table
            if row["order_id"] in renewed:
                assert _utc(row["order_date_updated"]) > saved, f"{table} row kept its order's old date_updated"
        # Every child row of every re-read order, and no other.
        owner = incremental.owner[table]
        expected = {key for key in incremental.expected_keys[table] if owner(key) in emitted_orders}
        assert {key_of(row, keys[table]) for row in rows} == expected, table
    assert any(row["order_id"] in incremental.changed for row in incremental.second.run.records("order_items"))


def test_given_a_saved_state_when_read_again_then_each_table_state_advances_and_never_moves_backwards(incremental):
    newest_now = max(_utc(order["date_updated"]) for order in incremental.snapshot.values())
    for table in ORDER_TABLES:
        field = "date_updated" if table == "orders" else "order_date_updated"
        for sync in (incremental.second, incremental.no_lookback):
            cursors = _assert_states_monotonic(sync.run, table, field, incremental.saved[table])
            assert cursors[-1] == newest_now > incremental.saved[table], f"{table} did not advance to the newest change"


def test_given_lookback_zero_when_read_from_saved_state_then_only_changed_orders_and_the_cursor_second_are_emitted(incremental):
    saved = incremental.saved["orders"]
    emitted = [record["id"] for record in incremental.no_lookback.run.records("orders")]
    assert len(emitted) == len(set(emitted))
    # The saved cursor is inclusive (re-reading its own second is what makes a resumed sync lossless).
    at_cursor = {order_id for order_id, order in incremental.snapshot.items() if _utc(order["date_updated"]) == saved}
    assert set(emitted) == incremental.changed | incremental.added | at_cursor
    assert len(at_cursor) <= 2, "the cursor second should hold only the last order(s) of the history"


def test_given_deleted_orders_when_order_ids_is_read_as_full_refresh_then_it_lists_exactly_the_orders_that_exist(incremental):
    ids = [record["id"] for record in incremental.second.run.records("order_ids")]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(incremental.snapshot) == incremental.sandbox.store.order_ids()
    assert incremental.deleted and not incremental.deleted & set(ids)


def test_given_a_folder_added_to_folder_ids_when_read_from_saved_state_then_every_order_of_that_folder_is_emitted(
    discovered, tmp_path
):
    # The first sync's cursor covers its folders only: resuming from it would skip the added folder's older orders.
    with Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=False) as server:
        by_folder = Counter(str(order["folder_id"]) for order in server.store.orders_snapshot())
        kept, added = (int(folder) for folder, _ in by_folder.most_common(2))
        catalog = configured_catalog(discovered, {"orders": "incremental"})
        first = _sync(server, tmp_path / "first", catalog, folder_ids=[kept])
        second = _sync(server, tmp_path / "second", catalog, first.run.final_state(), folder_ids=[kept, added])
        in_added = {str(order["id"]) for order in server.store.orders_snapshot() if order["folder_id"] in (added, str(added))}
    assert {str(record["folder_id"]) for record in first.run.records("orders")} == {str(kept)}
    assert in_added and in_added <= {str(record["id"]) for record in second.run.records("orders")}
    logs = [message["log"]["message"] for message in second.run.messages if message["type"] == "LOG"]
    assert any(f"Folder IDs now include folder {added}" in line for line in logs)
    assert first.run.final_state()[0]["stream"]["stream_state"]["folder_ids"] == [kept]


def test_given_the_reader_closes_stdout_mid_sync_when_reading_then_the_connector_stops_quietly_with_exit_code_1(
    sandbox, discovered, tmp_path
):
    # As `read ... | head` does: no traceback on stderr, and no sync carried on into the void.
    config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(sandbox.config(page_size=PAGE_SIZE)))
    catalog.write_text(json.dumps(configured_catalog(discovered, {name: "incremental" for name in ORDER_TABLES})))
    argv = [sys.executable, "main.py", "read", "--config", str(config), "--catalog", str(catalog)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        lines = [process.stdout.readline() for _ in range(100)]
        process.stdout.close()
        returncode = process.wait(timeout=60)
        stderr = process.stderr.read()
    finally:
        process.kill()
    assert all(json.loads(line) for line in lines), "what was read is whole messages"
    assert (returncode, stderr) == (1, b"")


# ---------------------------------------------------------------------------------------- bulk seconds


def test_given_a_second_holding_more_orders_than_a_page_when_read_then_every_order_is_emitted_exactly_once(
    orders_only_sync, sandbox
):
    assert _seconds_over(sandbox, PAGE_SIZE), "a second should hold more orders than a page"
    emitted = Counter(record["id"] for record in orders_only_sync.run.records("orders"))
    assert set(emitted) == sandbox.store.order_ids()
    assert set(emitted.values()) == {1}
    assert any(params.get("offset") for params in orders_only_sync.params_of("/orders")), "the bulk second is paged by offset"


def test_given_bulk_seconds_and_shuffled_ties_when_read_then_every_order_is_emitted_exactly_once(discovered, tmp_path):
    with Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=False, shuffle_ties=True, tie_seed=4) as shuffled:
        assert _seconds_over(shuffled, PAGE_SIZE)
        sync = _sync(shuffled, tmp_path, configured_catalog(discovered, {"orders": "incremental"}))
        emitted = Counter(record["id"] for record in sync.run.records("orders"))
        assert set(emitted) == shuffled.store.order_ids()
        assert set(emitted.values()) == {1}


@dataclass
class FallbackRun:
    sync: Sync
    order_ids: set[str]
    bulk_seconds: list[int]
    orders: list[dict]


@pytest.fixture(scope="module")
def order_by_ignored(discovered, tmp_path_factory) -> FallbackRun:
    """The store of the shared sandbox, served by an API that ignores `order_by` (always date_added DESC)."""
    with Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=False, ignore_order_by=True) as odd:
        sync = _sync(odd, tmp_path_factory.mktemp("ignored"), configured_catalog(discovered, {"orders": "incremental"}))
        return FallbackRun(sync, odd.store.order_ids(), _seconds_over(odd, PAGE_SIZE), odd.store.orders_snapshot())


def test_given_bulk_seconds_and_an_api_that_ignores_order_by_when_read_then_every_order_is_emitted_exactly_once(
    order_by_ignored,
):
    assert order_by_ignored.bulk_seconds, "a second should hold more orders than a page"
    assert any("order_by" not in params for params in order_by_ignored.sync.params_of("/orders")), "the window fallback ran"
    emitted = Counter(record["id"] for record in order_by_ignored.sync.run.records("orders"))
    assert set(emitted) == order_by_ignored.order_ids
    assert set(emitted.values()) == {1}


def test_given_a_bulk_second_and_order_by_ignored_when_read_then_the_window_fallback_stays_near_one_request_per_page(
    order_by_ignored,
):
    """Windows of several pages are read by offset, and a second holding more orders than a window is read on
    its own. Allowed: the one-pass target (10% over the pages, + 2), the first page and the sort probe that
    found the sort ignored, two narrowings per bulk second, and the halvings that find where orders begin
    after an empty stretch (the range starts at the Start Date, years before the store's first order).
    One-page windows took 95 requests here."""
    params = order_by_ignored.sync.params_of("/orders")
    window = _utc(params[0]["modified_end_date"]) - _utc(params[0]["modified_start_date"])
    populated = _utc(params[0]["modified_end_date"]) - min(_utc(o["date_updated"]) for o in order_by_ignored.orders)
    halvings = math.ceil(math.log2(window / populated))
    pages = math.ceil(len(order_by_ignored.order_ids) / PAGE_SIZE)
    allowed = 1.1 * pages + 2 + 2 + 2 * len(order_by_ignored.bulk_seconds) + halvings
    assert order_by_ignored.sync.requests["/orders"] <= allowed


# -------------------------------------------------------------------------------------- folders, modes


def test_given_folder_ids_when_read_then_only_orders_in_those_folders_and_their_rows_are_emitted(
    sandbox, discovered, keys, expected, tmp_path
):
    folders = ["31201", "31204"]
    catalog = configured_catalog(discovered, {"orders": "incremental", "order_items": "incremental"})
    sync = _sync(sandbox, tmp_path, catalog, folder_ids=[int(folder) for folder in folders])

    in_folders = {str(order["id"]) for order in sandbox.store.orders_snapshot() if str(order["folder_id"]) in folders}
    assert 0 < len(in_folders) < len(sandbox.store)
    orders = sync.run.records("orders")
    assert sorted(record["id"] for record in orders) == sorted(in_folders)
    assert {str(record["folder_id"]) for record in orders} == set(folders)
    items = set(_emitted_keys(sync.run, keys, "order_items"))
    assert items == {key for key in expected["order_items"] if key[0] in in_folders}
    assert all(params.get("folder_id") == ",".join(folders) for params in sync.params_of("/orders"))


def test_given_full_refresh_for_every_order_table_when_read_then_each_emits_the_sandbox_primary_keys(
    sandbox, discovered, keys, expected, tmp_path
):
    modes = {name: "full_refresh" for name in (*ORDER_TABLES, "order_ids")}
    sync = _sync(sandbox, tmp_path, configured_catalog(discovered, modes), page_size=500)  # the default page size
    for stream in modes:
        emitted = _emitted_keys(sync.run, keys, stream)
        assert len(emitted) == len(expected[stream]), stream
        assert set(emitted) == expected[stream], stream
