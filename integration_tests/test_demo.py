"""The README's main job, `make demo` (`python -m demo`), on a small sandbox store: it runs end to end and
its report agrees with what it did to the store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb

from orderdesk_sandbox.tables import ORDER_TABLES

ROOT = Path(__file__).resolve().parents[1]
TABLES = (*ORDER_TABLES, "order_ids", "folders", "store", "inventory_items")
ORDERS = 300


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_given_a_small_sandbox_store_when_the_demo_runs_then_it_reports_every_table_and_the_changes_it_made(
    tmp_path: Path,
) -> None:
    database = tmp_path / "demo.duckdb"
    demo = subprocess.run(
        [sys.executable, "-m", "demo", "--orders", str(ORDERS), "--output", str(database)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    for step in ("spec", "check", "discover", "sync 1", "sync 2"):
        assert step in demo.stdout, f"the demo reports its {step} step"
    rows = {}
    for table in TABLES:
        match = re.search(rf"^{table} +([\d,]+) +([\d,]+) +([\d,]+)$", demo.stdout, re.MULTILINE)
        assert match, f"no report line for {table}"
        rows[table] = tuple(_number(group) for group in match.groups())
    added, deleted = (_number(n) for n in re.search(r"added ([\d,]+), deleted ([\d,]+)", demo.stdout).groups())
    assert rows["orders"][:2] == (ORDERS, ORDERS + added), "deduplicated: each order once, deleted ones kept"
    assert rows["order_ids"][:2] == (ORDERS, ORDERS + added - deleted)
    assert re.search(
        rf"Orders deleted in Order Desk, still in `orders` \(not in `order_ids`\): {deleted}$", demo.stdout, re.MULTILINE
    )
    assert f"DuckDB file: {database}" in demo.stdout

    with duckdb.connect(str(database), read_only=True) as connection:
        for table in TABLES:
            (count,) = connection.execute(f"SELECT count(*) FROM main.{table}").fetchone()
            assert count == rows[table][1], f"{table}: the file holds what the report says"
