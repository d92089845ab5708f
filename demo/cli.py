"""The demo job: sandbox (or a real store) → spec, check, discover → sync 1 → changes → sync 2 → report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from demo.connector import ConnectorError, check_succeeded, find_executable, run_command, summarize

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = Path("demo_output") / "orderdesk.duckdb"
DEFAULT_ORDERS = 5000
DEFAULT_SEED = 1
# The share of the sandbox's orders changed between the two syncs.
MODIFY_SHARE, ADD_SHARE, DELETE_SHARE = 0.02, 0.01, 0.005


class DemoError(RuntimeError):
    """A failure with a message fit to show as it is."""


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description=(
            "Sync an Order Desk store into a local DuckDB file through PyAirbyte, twice: a full first sync, "
            "then an incremental one. Without --config, a local sandbox store is started, and some of its "
            "orders are changed between the syncs."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="connector config JSON of a real store (store_id, api_key, ...); no sandbox is started and the store is not changed",
    )
    parser.add_argument("--orders", type=_positive_int, default=DEFAULT_ORDERS, help="orders in the sandbox store (default 5000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the sandbox store's data (default 1)")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"the DuckDB file to write (default {DEFAULT_OUTPUT}); replaced if it exists",
    )
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class Progress:
    """Progress lines on stdout, each stamped with the seconds since the job started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    output = args.output
    log_dir = output.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "demo.log"

    from demo.pipeline import quiet_environment

    quiet_environment(log_dir)  # before PyAirbyte is imported
    progress = Progress()
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            Job(args, progress, log).run()
            return 0
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            return 130
        except (DemoError, ConnectorError) as error:
            print(f"\nThe demo failed: {error}", file=sys.stderr)
            return 1
        except Exception as error:  # PyAirbyte's errors, DuckDB's, the sandbox's...
            traceback.print_exc(file=log)
            print(f"\nThe demo failed: {_error_text(error)}", file=sys.stderr)
            print(f"Details (traceback, PyAirbyte's output): {log_path}; connector logs: {log_dir}", file=sys.stderr)
            return 1


def _error_text(error: BaseException) -> str:
    """PyAirbyte errors carry a message and guidance; their str() also dumps whole logs, which is too much here."""
    get_message = getattr(error, "get_message", None)
    text = get_message() if callable(get_message) else str(error)
    guidance = getattr(error, "guidance", None)
    original = getattr(error, "original_exception", None) or error.__cause__
    parts = [f"{type(error).__name__}: {text}"]
    if guidance:
        parts.append(str(guidance))
    if original is not None and str(original) and str(original) not in text:
        parts.append(f"caused by {type(original).__name__}: {str(original).splitlines()[0]}")
    # PyAirbyte 0.69 drops the connector's own error message from the exception it raises ("Connector
    # failed."); the message is in the connector's log file, which the exception names.
    errors = _connector_errors(getattr(error, "log_file", None))
    if errors:
        parts.append("The connector said: " + " | ".join(errors))
    return " ".join(parts)


def _connector_errors(log_file: Optional[Path], limit: int = 3) -> list[str]:
    """The ERROR lines of a PyAirbyte connector log (`<time> - ERROR - <message>`), first ones first, deduplicated."""
    if not log_file:
        return []
    try:
        lines = Path(log_file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    errors: list[str] = []
    for line in lines:
        _, marker, message = line.partition(" - ERROR - ")
        if marker and message.strip() and message.strip() not in errors:
            errors.append(message.strip())
    return errors[:limit]


@dataclass
class SyncRun:
    """One sync as the report shows it."""

    seconds: float
    records: dict[str, int]
    rows: dict[str, int]
    requests: Optional[dict[str, Any]]  # the sandbox's counters for this sync; None for a real store


class Job:
    def __init__(self, args: argparse.Namespace, progress: Progress, log: Any) -> None:
        self.args = args
        self.progress = progress
        self.log = log
        self.sandbox: Any = None

    def run(self) -> None:
        executable = find_executable()
        try:
            config = self._load_config() if self.args.config else self._start_sandbox()
            with tempfile.TemporaryDirectory(prefix="orderdesk-demo-") as scratch:
                config_path = self.args.config or _write_private_json(Path(scratch) / "config.json", config)
                self._connector_commands(executable, config_path)
            self._syncs(config, executable)
        finally:
            if self.sandbox is not None:
                self.sandbox.stop()
                self.progress("sandbox stopped")

    # ------------------------------------------------------------ the source

    def _load_config(self) -> dict:
        path = self.args.config
        try:
            config = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise DemoError(f"The config file {path} does not exist.") from None
        except OSError as error:
            raise DemoError(f"The config file {path} could not be read: {error.strerror or error}.") from None
        except ValueError as error:
            raise DemoError(f"The config file {path} is not valid JSON: {error}.") from None
        if not isinstance(config, dict) or not config.get("store_id") or not config.get("api_key"):
            raise DemoError(f"The config file {path} must be a JSON object with at least store_id and api_key.")
        where = "the config's API URL" if config.get("api_url") else "Order Desk"
        self.progress(f"using store {config['store_id']} at {where}, from {path} (it is only read, never changed)")
        return config

    def _start_sandbox(self) -> dict:
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))  # orderdesk_sandbox is not installed: it lives in the repository
        from orderdesk_sandbox import Sandbox

        self.progress(f"starting a local Order Desk sandbox: {self.args.orders:,} orders (seed {self.args.seed}), rate limit on")
        self.sandbox = Sandbox.start(orders=self.args.orders, seed=self.args.seed, rate_limit=True)
        store, limiter = self.sandbox.store, self.sandbox.limiter
        self.progress(
            f"sandbox serving {self.sandbox.url}: {len(store):,} orders, {len(store.inventory)} inventory items, "
            f"{len(store.profile.folders)} folders; rate limit {limiter.capacity:g} requests +{limiter.refill_per_second:g}/s, "
            "like Order Desk's"
        )
        return self.sandbox.config()

    def _connector_commands(self, executable: Path, config_path: Path) -> None:
        self.progress(f"connector: {_display_path(executable)}")
        for command in ("spec", "check", "discover"):
            result = run_command(executable, command, None if command == "spec" else config_path)
            self.progress(f"{command:<8} ({result.seconds:4.1f}s) {summarize(result)}")
            if command == "check" and not check_succeeded(result):
                raise DemoError(f"`check` did not succeed: {summarize(result)}")

    # ------------------------------------------------------------- the syncs

    def _syncs(self, config: dict, executable: Path) -> None:
        output = self.args.output
        for stale in (output, output.with_name(output.name + ".wal")):
            if stale.exists():
                stale.unlink()
                self.progress(f"removed the previous {_display_path(stale)} (each demo run starts from an empty cache)")
        self.progress("loading PyAirbyte (takes a few seconds)")
        from demo.pipeline import ALL_TABLES, Pipeline, pyairbyte_version

        pipeline = Pipeline(config, executable, output, log=self.log)
        try:
            self.progress(f"PyAirbyte {pyairbyte_version()}: source-orderdesk → DuckDB cache {_display_path(output)}")
            first = self._sync(pipeline, 1)
            if self.sandbox is not None:
                self._change_orders()
            else:
                self.progress("the store named by --config is not changed: sync 2 reads whatever changed there since sync 1")
            second = self._sync(pipeline, 2)
            extras = _findings(pipeline)
        finally:
            pipeline.close()
        from demo.report import render

        print()
        print(render(ALL_TABLES, first, second, extras, _display_path(output), sandbox=self.sandbox is not None), flush=True)

    def _sync(self, pipeline: Any, number: int) -> SyncRun:
        kind = "full: the cache is empty" if number == 1 else "incremental: from the state saved in the cache"
        self.progress(f"sync {number} ({kind})")
        if self.sandbox is not None:
            self.sandbox.stats.reset()
        result = pipeline.sync()
        for read in result.reads:
            how = "read incrementally, merged on primary keys"
            if read.write_strategy != "merge":
                how = "read in full, tables replaced"
            records = sum(read.records.values())
            self.progress(f"  {len(read.streams)} streams {how}: {records:,} records in {read.seconds:.1f}s")
        requests = None
        if self.sandbox is not None:
            stats = self.sandbox.stats
            requests = {"orders": stats.requests_by_path.get("/orders", 0), "total": stats.requests_total}
            requests["429"] = stats.served_429
            self.progress(
                f"  sandbox served {requests['total']} requests ({requests['orders']} to /orders), {requests['429']} answered 429"
            )
        return SyncRun(result.seconds, result.records, pipeline.row_counts(), requests)

    def _change_orders(self) -> None:
        store = self.sandbox.store
        total = len(store)
        modify = max(1, round(total * MODIFY_SHARE))
        add = max(1, round(total * ADD_SHARE))
        delete = max(1, round(total * DELETE_SHARE))
        # Distinct orders for each change, so the counts below are exact; the picks are seeded.
        import random

        rng = random.Random(self.args.seed)
        picked = rng.sample(sorted(store.order_ids()), min(total, modify + delete))
        modified, deleted = picked[:modify], picked[modify:]
        # A tenth of the edits remove a line item, so that sync 2 leaves removed child rows to find.
        shrunk: list[str] = []
        for order_id in modified:
            if len(shrunk) >= max(1, modify // 10):
                break
            if _remove_last_item(store, order_id):
                shrunk.append(order_id)
        store.modify(ids=[order_id for order_id in modified if order_id not in shrunk], rng_seed=self.args.seed)
        store.delete(ids=deleted)
        store.add(add)
        self.progress(
            f"changed the sandbox store: modified {len(modified)} orders (folder moves, notes, items, shipments; "
            f"{len(shrunk)} lost a line item), added {add}, deleted {len(deleted)}"
        )


def _remove_last_item(store: Any, order_id: str) -> bool:
    """Removes the order's last line item (if it has two or more) and stamps date_updated, as Order Desk would."""
    order = store.order(order_id)
    items = order.get("order_items") if order else None
    if not isinstance(items, list) or len(items) < 2:
        return False
    items.pop()
    order["date_updated"] = store.now_text()
    store.put_raw(order)
    return True


def _findings(pipeline: Any) -> dict[str, Any]:
    """What the documented queries find after sync 2: deleted orders, and child rows removed from their order."""
    from demo.pipeline import ORDER_TABLES

    deleted = pipeline.query("SELECT count(*) AS n FROM orders o WHERE o.id NOT IN (SELECT id FROM order_ids)")[0]["n"]
    stale = {}
    for table in ORDER_TABLES[1:]:  # every child table
        sql = f'SELECT count(*) AS n FROM "{table}" c JOIN orders o ON o.id = c.order_id'
        sql += " WHERE c.order_date_updated < o.date_updated"
        stale[table] = pipeline.query(sql)[0]["n"]
    return {"deleted_orders": deleted, "stale_child_rows": stale}


def _write_private_json(path: Path, value: dict) -> Path:
    """The config holds the API key: readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(value, file)
    return path


def _display_path(path: Path) -> str:
    """Relative to the current directory when inside it (shorter, and what a user would type)."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
