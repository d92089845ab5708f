"""Shared tools of the reliability tests: run the connector, read what it said, and compare it with the sandbox.

* `run_connector` runs `python main.py <command>` in a subprocess from the repository root. With
  `fast_retries=True` it runs the same entry point (`source_orderdesk.run.run`) through `python -c`,
  after replacing the `time` module seen by the CDK's retry loops (`backoff._sync` and the CDK's
  `rate_limiting`) with one whose `sleep` returns at once. Nothing else changes: the connector still
  retries as often as ever (MAX_RETRIES), paces itself with its own token bucket and talks HTTP to the sandbox. It only
  saves the minutes of exponential backoff a persistent fault costs.
* `run_until_killed` runs a `read` with stdout piped and SIGKILLs it after its N-th line.
* `read_in_process` runs a `read` through the same entry point in this process (property test only).
* `destination_view` replays records the way an `append_dedup` destination keeps them (latest
  version per primary key), drops deleted orders (ids absent from `order_ids`) and child rows of an
  older version of their order (`order_date_updated` differs from the order's `date_updated`), as
  the schemas document. `expected_view` is the same view of the sandbox's current data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import jsonschema

from orderdesk_sandbox.tables import CHILD_TABLES, ORDER_TABLES

ROOT = Path(__file__).resolve().parents[2]
# A distinctive key: every test asserts that it (and the store's SMTP password) appears in no line of output.
API_KEY = "relKEY-7f9Qx2-do-not-leak"
DEFAULT_TIMEOUT_SECONDS = 240
TRACEBACK_MARK = "Traceback (most recent call last)"
CDK_CRASH_TEXT = "Something went wrong in the connector"

_FAST_RETRY_LAUNCHER = textwrap.dedent(
    """
    import time

    import backoff._sync
    from airbyte_cdk.sources.streams.http import rate_limiting


    class _NoBackoffSleep:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            pass


    backoff._sync.time = _NoBackoffSleep()
    rate_limiting.time = _NoBackoffSleep()

    from source_orderdesk.run import run

    run()
    """
)


# ---------------------------------------------------------------------------------------- output


@dataclass
class Run:
    """One connector command: its exit code, raw output, and stdout parsed line by line."""

    argv: list[str]
    returncode: Optional[int]
    stdout: str
    stderr: str
    killed: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    non_json_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for line in self.stdout.splitlines():
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                self.non_json_lines.append(line)
                continue
            if isinstance(message, dict) and "type" in message:
                self.messages.append(message)
            else:
                self.non_json_lines.append(line)

    def of_type(self, message_type: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == message_type]

    def records(self, stream: Optional[str] = None) -> list[dict[str, Any]]:
        return [m["record"]["data"] for m in self.of_type("RECORD") if stream is None or m["record"]["stream"] == stream]

    def record_messages(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.of_type("RECORD")]

    def final_state(self, streams: Optional[Iterable[str]] = None) -> list[dict[str, Any]]:
        """The latest STATE of each stream (of `streams` only, if given), as Airbyte passes it back.

        A retry of the same job gets every stream's state; a new job gets only the incremental
        streams' (the platform drops a full refresh's resumable state between jobs).
        """
        wanted = None if streams is None else set(streams)
        latest: dict[str, dict[str, Any]] = {}
        for message in self.of_type("STATE"):
            state = message["state"]
            name = state["stream"]["stream_descriptor"]["name"]
            if wanted is None or name in wanted:
                latest[name] = state
        return list(latest.values())

    def cursors(self) -> dict[str, dict[str, Any]]:
        return {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in self.final_state()}

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    @property
    def connection_status(self) -> dict[str, Any]:
        (message,) = self.of_type("CONNECTION_STATUS")
        return message["connectionStatus"]

    def stream_statuses(self, stream: str) -> list[str]:
        return [
            m["trace"]["stream_status"]["status"]
            for m in self.of_type("TRACE")
            if m["trace"].get("type") == "STREAM_STATUS" and m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
        ]

    def describe(self) -> str:
        """A short account for assertion messages (never the config: it holds the key)."""
        errors = [(e.get("failure_type"), e.get("message")) for e in self.errors]
        return f"exit {self.returncode}, killed={self.killed}, errors={errors}, stderr tail={self.stderr[-1500:]!r}"


def store_secrets() -> dict[str, str]:
    """The secrets a sandbox store holds: the API key, and the SMTP password its `GET /store` settings return."""
    if not _STORE_SECRETS:
        from orderdesk_sandbox.store_data import generate_store

        settings = generate_store(0, 1, api_key=API_KEY).profile.settings
        _STORE_SECRETS.update({"API key": API_KEY, "SMTP password": settings["smtp_password"]})
    return _STORE_SECRETS


_STORE_SECRETS: dict[str, str] = {}


def assert_clean_output(run: Run) -> None:
    """Every stdout line is an Airbyte message, no traceback outside a `stack_trace` field, no CDK crash
    text, and neither the API key nor the store's SMTP password in any line of stdout or stderr."""
    assert not run.non_json_lines, f"stdout lines that are not Airbyte messages: {run.non_json_lines[:3]}"
    for message in run.messages:
        text = json.dumps(_without_stack_traces(message))
        assert TRACEBACK_MARK not in text, f"traceback text outside a stack_trace field: {text[:800]}"
        assert CDK_CRASH_TEXT not in text, f"the connector crashed: {text[:800]}"
    for secret_name, secret in store_secrets().items():
        for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            leaking = [number for number, line in enumerate(text.splitlines(), 1) if secret in line]
            assert not leaking, f"the {secret_name} appears on {name} line(s) {leaking[:5]}"


def assert_succeeded(run: Run) -> None:
    assert run.returncode == 0 and not run.errors, run.describe()
    assert_clean_output(run)


def _without_stack_traces(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_stack_traces(v) for k, v in value.items() if k != "stack_trace"}
    if isinstance(value, list):
        return [_without_stack_traces(v) for v in value]
    return value


# ------------------------------------------------------------------------------------- running


def _argv(
    command: str, workdir: Path, config: Any, catalog: Any, state: Any, fast_retries: bool, extra_args: Sequence[str] = ()
) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", _FAST_RETRY_LAUNCHER] if fast_retries else [sys.executable, "main.py"]
    argv += [command, *extra_args]
    for flag, value in (("config", config), ("catalog", catalog), ("state", state)):
        if value is None:
            continue
        path = workdir / f"{command}_{flag}.json"
        path.write_text(value if isinstance(value, str) else json.dumps(value))
        argv += [f"--{flag}", str(path)]
    return argv


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def run_connector(
    command: str,
    workdir: Path,
    *,
    config: Any = None,
    catalog: Any = None,
    state: Any = None,
    fast_retries: bool = False,
    extra_args: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Run:
    """`python main.py <command> [extra_args] --config ... [--catalog ...] [--state ...]`; a str input is written verbatim."""
    argv = _argv(command, workdir, config, catalog, state, fast_retries, extra_args)
    result = subprocess.run(argv, cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=timeout)
    return Run(argv, result.returncode, result.stdout, result.stderr)


def run_until_killed(
    workdir: Path,
    *,
    config: Any,
    catalog: Any,
    state: Any = None,
    kill_after_lines: int,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Run:
    """A `read` that gets SIGKILL right after its `kill_after_lines`-th line of stdout.

    Only complete lines count as output (a line cut by the kill is what Airbyte would drop too).
    If the sync ends first, the run is returned as it finished, with `killed=False`.
    """
    argv = _argv("read", workdir, config, catalog, state, fast_retries=False)
    with open(workdir / "killed_stderr.txt", "w+b") as stderr_file:
        process = subprocess.Popen(argv, cwd=ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=stderr_file)
        lines: list[bytes] = []
        killed = False
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if not line.endswith(b"\n"):
                    break
                lines.append(line)
                if len(lines) >= kill_after_lines:
                    process.send_signal(signal.SIGKILL)
                    killed = True
                    break
        finally:
            if process.poll() is None and not killed:
                process.wait(timeout=timeout)
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace")
    return Run(argv, process.returncode, b"".join(lines).decode(), stderr, killed=killed)


def run_parallel(jobs: Mapping[Any, Callable[[], Any]], workers: int = 2) -> dict[Any, Any]:
    """Runs independent jobs (each usually one connector subprocess) a few at a time.

    Most of a short connector run is Python importing the CDK, which is CPU-bound; two at a time use
    both cores. A job that raises returns its exception, so that only its own test fails.
    """

    def guarded(job: Callable[[], Any]) -> Any:
        try:
            return job()
        except Exception as error:  # reported by the test that owns the job
            return error

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(guarded, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def result_of(outcome: Any) -> Any:
    """A job's result from `run_parallel`, re-raising its exception in the test that owns it."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def read_in_process(workdir: Path, config: Mapping[str, Any], catalog: Mapping[str, Any], state: Optional[list] = None) -> Run:
    """A `read` through the same entry point as `main.py`, in this process (still over HTTP to the sandbox).

    Used only by the property test, to keep many examples within a bounded runtime: a subprocess
    spends about three seconds importing the CDK before its first request. Like `run.py`, a failed
    sync ends with exit code 1 and its traces; log lines go to this process's stdout (pytest captures them).
    """
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    from source_orderdesk.source import SourceOrderdesk, SyncFailed

    argv = _argv("read", workdir, config, catalog, state, fast_retries=False)
    entrypoint = AirbyteEntrypoint(SourceOrderdesk())
    lines: list[str] = []
    returncode = 0
    try:
        lines.extend(entrypoint.run(entrypoint.parse_args(argv[2:])))
    except SyncFailed:
        returncode = 1
    except AirbyteTracedException as error:
        message = error.as_sanitized_airbyte_message()
        message.trace.error.stack_trace = None
        lines.append(AirbyteEntrypoint.airbyte_message_to_string(message))
        returncode = 1
    return Run(["in-process", *argv[2:]], returncode, "\n".join(lines) + "\n", "")


# -------------------------------------------------------------------------------------- catalog

_DISCOVERED: dict[str, Any] = {}


def discovered_catalog() -> dict[str, Any]:
    """The connector's catalog, from its own `discover` (in this process: no network is involved)."""
    if not _DISCOVERED:
        from airbyte_cdk.models.airbyte_protocol_serializers import AirbyteCatalogSerializer

        from source_orderdesk.source import SourceOrderdesk

        config = {"store_id": "1", "api_key": "placeholder", "api_url": "http://127.0.0.1:9/api/v2"}
        catalog = SourceOrderdesk().discover(logging.getLogger("airbyte"), config)
        _DISCOVERED.update(AirbyteCatalogSerializer.dump(catalog))
    return _DISCOVERED


def configured_catalog(streams: Optional[Iterable[str]] = None) -> dict[str, Any]:
    """Selects `streams` (default: all), each incremental when it can be, in discover's order."""
    wanted = None if streams is None else set(streams)
    configured = []
    for stream in discovered_catalog()["streams"]:
        if wanted is not None and stream["name"] not in wanted:
            continue
        incremental = "incremental" in stream["supported_sync_modes"]
        configured.append(
            {
                "stream": stream,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "cursor_field": stream.get("default_cursor_field", []) if incremental else [],
                "destination_sync_mode": "append_dedup" if incremental else "overwrite",
                "primary_key": stream.get("source_defined_primary_key", []),
            }
        )
    return {"streams": configured}


def primary_key_fields(stream: str) -> list[str]:
    (entry,) = [s for s in discovered_catalog()["streams"] if s["name"] == stream]
    return [path[0] for path in entry["source_defined_primary_key"]]


def key_of(stream: str, record: Mapping[str, Any]) -> tuple[str, ...]:
    """A record's primary key, each part as text (the sandbox's keys mix ids as text and positions as ints)."""
    return tuple(str(record.get(name)) for name in primary_key_fields(stream))


# --------------------------------------------------------------------------------------- schemas

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema checks "date-time" only with the optional rfc3339-validator installed; check it here.
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def schema_errors(stream: str, record: Mapping[str, Any]) -> list[str]:
    """Every way `record` breaks its stream's JSON schema, format checks included."""
    (entry,) = [s for s in discovered_catalog()["streams"] if s["name"] == stream]
    validator = jsonschema.Draft7Validator(entry["json_schema"], format_checker=_FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(record)]


# ------------------------------------------------------------------------------- data comparison


def rfc3339(api_time: str) -> str:
    """Order Desk's `YYYY-MM-DD HH:MM:SS` (UTC) as the connector writes it."""
    return api_time.replace(" ", "T") + "Z"


@dataclass
class View:
    """Primary keys per order table, and each order's `date_updated` (RFC 3339)."""

    keys: dict[str, set[tuple[str, ...]]]
    order_updated: dict[str, str]


def destination_view(runs: Sequence[Run], existing_ids: Optional[set[str]] = None) -> View:
    """What an append_dedup destination holds after `runs`, read the documented way.

    Latest record per primary key wins; orders whose id is not in `existing_ids` (default: the ids of
    the last run's `order_ids` stream) are dropped with their rows; a child row survives only if its
    `order_date_updated` is the order's current `date_updated`.
    """
    latest: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {name: {} for name in ORDER_TABLES}
    for run in runs:
        for record in run.record_messages():
            if record["stream"] in latest:
                latest[record["stream"]][key_of(record["stream"], record["data"])] = record["data"]
    if existing_ids is None:
        existing_ids = {str(row["id"]) for row in runs[-1].records("order_ids")}
    orders = {key: row for key, row in latest["orders"].items() if key[0] in existing_ids}
    updated = {key[0]: row.get("date_updated") for key, row in orders.items()}
    keys = {"orders": set(orders)}
    for table in CHILD_TABLES:
        keys[table] = {
            key
            for key, row in latest[table].items()
            if str(row.get("order_id")) in updated and row.get("order_date_updated") == updated[str(row.get("order_id"))]
        }
    return View(keys, updated)


def expected_view(store: Any) -> View:
    """The same view of the sandbox's current data."""
    expected = store.expected_keys()
    keys = {table: {tuple(str(part) for part in key) for key in expected[table]} for table in ORDER_TABLES}
    updated = {str(order["id"]): rfc3339(order["date_updated"]) for order in store.orders_snapshot()}
    return View(keys, updated)


def assert_same_view(actual: View, expected: View) -> None:
    for table in ORDER_TABLES:
        missing = expected.keys[table] - actual.keys[table]
        extra = actual.keys[table] - expected.keys[table]
        assert not missing and not extra, (
            f"{table}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra (e.g. {sorted(extra)[:3]})"
        )
    stale = {k: (v, expected.order_updated.get(k)) for k, v in actual.order_updated.items() if expected.order_updated.get(k) != v}
    assert not stale, f"orders whose latest version is not the current one (got, want): {dict(list(stale.items())[:5])}"
