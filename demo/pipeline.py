"""The PyAirbyte side of the demo: the connector as a PyAirbyte source, a DuckDB cache, and syncs.

One sync is two PyAirbyte reads, because PyAirbyte applies one write strategy to all the streams
of a read:

* the streams that support incremental sync (`orders` and its seven child tables) are read
  incrementally from the state PyAirbyte keeps in the cache, and merged on their primary keys
  (the destination-side "Append + Deduped");
* the full-refresh-only streams (`order_ids`, `folders`, `store`, `inventory_items`) are read in
  full and *replace* their tables. Merging them would keep rows that no longer exist: `order_ids`
  would then still list the orders deleted in Order Desk, and could not be used to drop them.

Import this module only after `quiet_environment()` has run: PyAirbyte reads its environment
variables when it is first imported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Mapping, Optional

ORDER_TABLES = (
    "orders",
    "order_items",
    "order_items_variation_list",
    "order_checkout_data",
    "order_metadata",
    "order_discount_list",
    "order_notes",
    "order_shipments",
)
SNAPSHOT_TABLES = ("order_ids", "folders", "store", "inventory_items")
ALL_TABLES = ORDER_TABLES + SNAPSHOT_TABLES

# PyAirbyte defaults that do not suit a batch job: telemetry, registry look-ups (this connector runs
# from a local executable, so the registry is not needed), and a live progress view.
QUIET_ENVIRONMENT = {
    "DO_NOT_TRACK": "1",
    "AIRBYTE_OFFLINE_MODE": "1",
    "NO_LIVE_PROGRESS": "1",
}


def quiet_environment(log_dir: Optional[Path] = None) -> None:
    """Sets PyAirbyte's environment variables (unless the user set them), before it is imported."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if log_dir is not None:
        os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(log_dir))


@contextlib.contextmanager
def captured_output(log: Optional[IO[str]]) -> Iterator[None]:
    """Sends what PyAirbyte prints (sync banners, log file locations, hints) to `log` instead of the terminal."""
    if log is None:
        yield
        return
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            yield
        finally:
            log.flush()


@dataclass
class ReadStats:
    streams: list[str]
    write_strategy: str
    seconds: float
    records: dict[str, int]


@dataclass
class SyncResult:
    """What one sync (two reads) did: records received per stream, and how long it took."""

    reads: list[ReadStats] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(read.seconds for read in self.reads)

    @property
    def records(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for read in self.reads:
            merged.update(read.records)
        return merged


class Pipeline:
    """The `source-orderdesk` executable as a PyAirbyte source, syncing into one DuckDB file."""

    def __init__(
        self,
        config: Mapping[str, Any],
        executable: Path,
        db_path: Path,
        *,
        log: Optional[IO[str]] = None,
        streams: tuple[str, ...] = ALL_TABLES,
    ) -> None:
        import airbyte as ab
        from airbyte.caches import DuckDBCache

        self._log = log
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with captured_output(log):
            self.source = ab.get_source("source-orderdesk", config=dict(config), local_executable=executable)
            # cache_dir holds PyAirbyte's temporary batch files; keep them next to the database, not in the cwd.
            self.cache = DuckDBCache(db_path=db_path, schema_name="main", cache_dir=db_path.parent / ".pyairbyte-tmp")
            catalog = self.source.discovered_catalog
        modes = {s.name: {str(getattr(mode, "value", mode)) for mode in s.supported_sync_modes or []} for s in catalog.streams}
        missing = [name for name in streams if name not in modes]
        if missing:
            raise RuntimeError(f"The connector does not offer the stream(s) {', '.join(missing)}.")
        self.incremental_streams = [name for name in streams if "incremental" in modes[name]]
        self.snapshot_streams = [name for name in streams if "incremental" not in modes[name]]

    def sync(self) -> SyncResult:
        """Incremental streams: read from the saved state, merged on primary keys. The others: read in full, replaced."""
        result = SyncResult()
        if self.incremental_streams:
            result.reads.append(self._read(self.incremental_streams, "merge", force_full_refresh=False))
        if self.snapshot_streams:
            result.reads.append(self._read(self.snapshot_streams, "replace", force_full_refresh=True))
        return result

    def _read(self, streams: list[str], write_strategy: str, force_full_refresh: bool) -> ReadStats:
        started = time.monotonic()
        with captured_output(self._log):
            read = self.source.read(
                self.cache, streams=streams, write_strategy=write_strategy, force_full_refresh=force_full_refresh
            )
        seconds = time.monotonic() - started
        return ReadStats(streams, write_strategy, seconds, _records_per_stream(read, streams))

    def row_counts(self) -> dict[str, int]:
        counts = {}
        existing = {row["table_name"] for row in self.query("SELECT table_name FROM information_schema.tables")}
        for name in ALL_TABLES:
            counts[name] = self.query(f'SELECT count(*) AS n FROM "{name}"')[0]["n"] if name in existing else 0
        return counts

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.cache.run_sql_query(sql)

    def close(self) -> None:
        """Releases the DuckDB file (DuckDB locks it while a connection is open)."""
        with contextlib.suppress(Exception):
            self.cache.close()
        with contextlib.suppress(OSError):
            self.cache.cache_dir.rmdir()  # PyAirbyte's batch files are gone by now; drop the folder if empty


def _records_per_stream(read: Any, streams: list[str]) -> dict[str, int]:
    """Records PyAirbyte received per stream. PyAirbyte only exposes the per-stream tally on its progress tracker."""
    tracker = getattr(read, "_progress_tracker", None)
    counts = getattr(tracker, "stream_read_counts", None)
    if counts is None:
        return {}
    return {name: int(counts.get(name, 0)) for name in streams}


def pyairbyte_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("airbyte")
    except PackageNotFoundError:
        return "unknown"


def python_version() -> str:
    return sys.version.split()[0]
