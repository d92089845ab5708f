"""Incremental reads from saved state, run the way Airbyte runs the connector.

The standard suite does not collect the `incremental` section of acceptance-test-config.yml, so its
two checks live here: a far-future state (abnormal_state.json) reads nothing and keeps its cursors,
and sample_state.json reads exactly the orders updated since its cursor less the lookback window.
Each read is `python main.py read --config ... --catalog ... --state ...` in a subprocess, against
a live local Order Desk sandbox with its rate limit on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from orderdesk_sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "integration_tests"
CATALOG = TESTS / "configured_catalog.json"
SAMPLE_STATE = TESTS / "sample_state.json"
ABNORMAL_STATE = TESTS / "abnormal_state.json"
SANDBOX_ORDERS = 400
SANDBOX_SEED = 7
# The sandbox's history spans two years before its anchor. Anchoring it a year after the sample
# cursor (or now, whichever is earlier) keeps that cursor inside the history in any year.
HISTORY_AFTER_SAMPLE_CURSOR = timedelta(days=365)


def _utc(value: str) -> datetime:
    """An RFC 3339 cursor (`...Z`) or an Order Desk timestamp (`YYYY-MM-DD HH:MM:SS`, UTC)."""
    text = value.strip().replace("Z", "+00:00").replace(" ", "T")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _cursors(state_file: Path) -> dict[str, tuple[str, datetime]]:
    """stream -> (cursor field, cursor) of a state file."""
    cursors = {}
    for message in json.loads(state_file.read_text()):
        stream = message["stream"]
        ((field, value),) = stream["stream_state"].items()
        cursors[stream["stream_descriptor"]["name"]] = (field, _utc(value))
    return cursors


def _catalog() -> dict[str, Any]:
    """configured_catalog.json's incremental streams (its full-refresh streams have no state to test)."""
    catalog = json.loads(CATALOG.read_text())
    return {**catalog, "streams": [entry for entry in catalog["streams"] if entry["sync_mode"] == "incremental"]}


def _primary_keys() -> dict[str, list[str]]:
    return {entry["stream"]["name"]: [key[0] for key in entry["primary_key"]] for entry in _catalog()["streams"]}


def _start_sandbox(**kwargs: Any) -> Sandbox:
    sample_cursor = min(cursor for _, cursor in _cursors(SAMPLE_STATE).values())
    anchor = min(datetime.now(timezone.utc), sample_cursor + HISTORY_AFTER_SAMPLE_CURSOR)
    return Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=True, port=0, anchor=anchor, **kwargs)


@pytest.fixture(scope="module")
def sandbox():
    server = _start_sandbox()
    try:
        yield server
    finally:
        server.stop()


def _config_for(server: Sandbox, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """sample_config.json, pointed at the live sandbox (the file names the fixed CLI port)."""
    config = {**json.loads((TESTS / "sample_config.json").read_text()), "api_url": server.url}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path, config


class Read:
    """The parsed output of one `read`."""

    def __init__(self, stdout: str, stderr: str, returncode: int) -> None:
        self.returncode = returncode
        self.stderr = stderr
        self.messages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"]["data"] for m in self.messages if m["type"] == "RECORD" and m["record"]["stream"] == stream]

    @property
    def record_count(self) -> int:
        return sum(1 for m in self.messages if m["type"] == "RECORD")

    def states(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["state"]["stream"]["stream_state"]
            for m in self.messages
            if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == stream
        ]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"] for m in self.messages if m["type"] == "TRACE" and m["trace"].get("type") == "ERROR"]

    def final_state_file(self, path: Path) -> Path:
        latest = {}
        for message in self.messages:
            if message["type"] == "STATE":
                latest[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
        path.write_text(json.dumps(list(latest.values())))
        return path


def _read(config_path: Path, state_path: Path | None) -> Read:
    catalog_path = config_path.parent / "incremental_catalog.json"
    catalog_path.write_text(json.dumps(_catalog()))
    command = [sys.executable, "main.py", "read", "--config", str(config_path), "--catalog", str(catalog_path)]
    if state_path is not None:
        command += ["--state", str(state_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    read = Read(result.stdout, result.stderr, result.returncode)
    assert read.returncode == 0, f"read failed ({read.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert not read.errors, read.errors
    return read


def _assert_states_never_move_backwards(read: Read, saved: dict[str, tuple[str, datetime]]) -> dict[str, datetime]:
    """Every stream's states are non-decreasing and never before its saved cursor; returns the last ones."""
    finals = {}
    for stream, (field, saved_cursor) in saved.items():
        states = read.states(stream)
        assert states, f"{stream} emitted no state"
        cursors = [_utc(state[field]) for state in states]
        assert cursors == sorted(cursors), f"{stream}'s state moved backwards within the sync: {cursors}"
        assert cursors[0] >= saved_cursor, f"{stream}'s state moved back from {saved_cursor} to {cursors[0]}"
        finals[stream] = cursors[-1]
    return finals


def test_catalog_and_state_files_cover_the_same_streams():
    streams = [entry["stream"]["name"] for entry in _catalog()["streams"]]
    for state_file in (SAMPLE_STATE, ABNORMAL_STATE):
        cursors = _cursors(state_file)
        assert sorted(cursors) == sorted(streams), state_file.name
        for entry in _catalog()["streams"]:
            assert cursors[entry["stream"]["name"]][0] == entry["cursor_field"][0], state_file.name
    assert all(cursor > datetime.now(timezone.utc) + timedelta(days=3650) for _, cursor in _cursors(ABNORMAL_STATE).values())


def test_future_state_reads_nothing_and_keeps_its_cursors(sandbox, tmp_path):
    config_path, _ = _config_for(sandbox, tmp_path)
    saved = _cursors(ABNORMAL_STATE)
    read = _read(config_path, ABNORMAL_STATE)

    assert read.record_count == 0
    finals = _assert_states_never_move_backwards(read, saved)
    assert finals == {stream: cursor for stream, (_, cursor) in saved.items()}


def test_sample_state_reads_only_orders_updated_since_cursor_less_lookback(sandbox, tmp_path):
    config_path, config = _config_for(sandbox, tmp_path)
    saved = _cursors(SAMPLE_STATE)
    lookback = timedelta(minutes=config["lookback_window_minutes"])
    starts = {stream: cursor - lookback for stream, (_, cursor) in saved.items()}
    snapshot = sandbox.store.orders_snapshot()
    updated = {str(order["id"]): _utc(order["date_updated"]) for order in snapshot}
    expected_orders = {order_id for order_id, moment in updated.items() if moment >= starts["orders"]}
    assert 0 < len(expected_orders) < len(snapshot), "the sample cursor should split the sandbox's history"

    read = _read(config_path, SAMPLE_STATE)

    orders = read.records("orders")
    assert sorted(order["id"] for order in orders) == sorted(expected_orders), "each order since the cursor, exactly once"
    order_updated = {order["id"]: order["date_updated"] for order in orders}

    # Child rows: only from those orders, stamped with their order's date_updated, and all of them.
    shipment_order = {
        str(shipment["id"]): str(order["id"])
        for order in snapshot
        if isinstance(order.get("order_shipments"), list)
        for shipment in order["order_shipments"]
        if isinstance(shipment, dict)
    }
    expected_keys = sandbox.store.expected_keys()
    for stream, fields in _primary_keys().items():
        if stream == "orders":
            continue
        rows = read.records(stream)
        for row in rows:
            assert row["order_id"] in expected_orders, f"{stream} row of an order not updated since the cursor"
            assert row["order_date_updated"] == order_updated[row["order_id"]], stream
            assert _utc(row["order_date_updated"]) >= starts[stream], stream
        emitted = {tuple(row[field] for field in fields) for row in rows}
        owner = (lambda key: shipment_order[key[0]]) if stream == "order_shipments" else (lambda key: key[0])
        assert emitted == {key for key in expected_keys[stream] if owner(key) in expected_orders}, stream

    finals = _assert_states_never_move_backwards(read, saved)
    newest = max(_utc(value) for value in order_updated.values())
    assert finals == {stream: newest for stream in saved}, "every table's state ends at the newest order read"


def test_state_from_one_read_resumes_the_next(tmp_path):
    """A full read's final state, handed back, re-reads only the lookback window plus real changes."""
    server = _start_sandbox()
    try:
        config_path, config = _config_for(server, tmp_path)
        lookback = timedelta(minutes=config["lookback_window_minutes"])
        first = _read(config_path, None)
        assert len(first.records("orders")) == len(server.store)
        state_path = first.final_state_file(tmp_path / "state.json")
        saved = _cursors(state_path)
        assert sorted(saved) == sorted(_primary_keys())

        changed = set(server.store.modify(5, rng_seed=11))
        second = _read(config_path, state_path)

        newest = max(cursor for _, cursor in saved.values())
        in_lookback = {str(o["id"]) for o in server.store.orders_snapshot() if _utc(o["date_updated"]) >= newest - lookback}
        assert changed <= in_lookback
        assert {order["id"] for order in second.records("orders")} == in_lookback
        _assert_states_never_move_backwards(second, saved)
        assert server.stats.rate_limited == 0
    finally:
        server.stop()
