"""The table printed at the end of the demo, and the "try it" hints."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence


def render(tables: Sequence[str], first: Any, second: Any, extras: dict[str, Any], db_path: str, *, sandbox: bool) -> str:
    header = ("table", "rows after sync 1", "rows after sync 2", "written by sync 2")
    rows: list[tuple[str, str, str, str]] = []
    for table in tables:
        written = second.records.get(table)
        written_text = "?" if written is None else f"{written:,}"
        rows.append((table, f"{first.rows.get(table, 0):,}", f"{second.rows.get(table, 0):,}", written_text))
    per_sync: list[tuple[str, str, str, str]] = [
        ("requests to /orders", _requests(first, "orders"), _requests(second, "orders"), ""),
        ("requests in total", _requests(first, "total"), _requests(second, "total"), ""),
        ("HTTP 429 answers", _requests(first, "429"), _requests(second, "429"), ""),
        ("time", f"{first.seconds:.1f}s", f"{second.seconds:.1f}s", ""),
    ]
    widths = [max(len(row[i]) for row in [header, *rows, *per_sync]) for i in range(4)]

    def line(row: Sequence[str]) -> str:
        return "  ".join([row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:]))]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    out = [line(header), rule, *(line(row) for row in rows), rule, *(line(row) for row in per_sync)]
    if not sandbox:
        out.append("(request counts are only known for the sandbox)")
    out.append("")
    out.append(
        "'written by sync 2' counts the records sync 2 received: changed and new orders with all their child rows, "
        "the orders re-read by the lookback window, and the full-refresh tables in full."
    )
    deleted = extras.get("deleted_orders")
    if deleted is not None:
        out.append(f"Orders deleted in Order Desk, still in `orders` (not in `order_ids`): {deleted:,}")
    stale = extras.get("stale_child_rows") or {}
    if stale:
        listed = ", ".join(f"{table} {count:,}" for table, count in stale.items())
        out.append(f"Child rows removed from their order (order_date_updated < the order's date_updated): {listed}")
    out.append(f"DuckDB file: {db_path}")
    out.append("")
    out.append(try_it(db_path))
    return "\n".join(out)


def _requests(run: Any, key: str) -> str:
    requests: Optional[dict] = run.requests
    return "n/a" if requests is None else f"{requests[key]:,}"


def try_it(db_path: str) -> str:
    python = _python_command()
    db = "" if db_path == os.path.join("demo_output", "orderdesk.duckdb") else f" --db {db_path}"
    command = f"  {python} -m demo.query{db}"
    return "\n".join(
        [
            "Try it:",
            "  # Orders and revenue per folder, deleted orders dropped by joining to order_ids:",
            f'{command} "SELECT f.name AS folder, count(*) AS orders, round(sum(o.order_total), 2) AS revenue FROM orders o '
            'JOIN order_ids i ON i.id = o.id JOIN folders f ON f.id = o.folder_id GROUP BY f.name ORDER BY orders DESC"',
            "  # Orders deleted in Order Desk since they were synced:",
            f'{command} "SELECT o.id, o.date_updated FROM orders o WHERE o.id NOT IN (SELECT id FROM order_ids)"',
            "  # Current line items only (a removed item has an older order_date_updated than its order):",
            f'{command} "SELECT i.order_id, i.name, i.quantity, i.price FROM order_items i JOIN orders o ON o.id = i.order_id '
            'JOIN order_ids d ON d.id = o.id WHERE i.order_date_updated = o.date_updated LIMIT 10"',
            f"  # Or open it in Python: duckdb.connect('{db_path}', read_only=True)",
        ]
    )


def _python_command() -> str:
    """`.venv/bin/python` when that is the interpreter running (as under `make demo`), else `python`."""
    executable = Path(sys.executable)
    try:
        relative = Path(os.path.abspath(executable)).relative_to(Path.cwd())
    except ValueError:
        return "python"
    return str(relative)
