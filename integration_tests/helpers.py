"""Run the connector the way Airbyte does, as a subprocess speaking the Airbyte protocol, and parse what it says.

    run = run_connector("read", tmp_path, config=config, catalog=catalog, state=state)
    run.assert_succeeded()
    run.records("orders")        # record data of one stream, in emission order
    run.final_state()            # the latest STATE per stream, ready to pass back as --state

`run_connector` writes the config, catalog and state as JSON files into a directory the caller owns
(a pytest `tmp_path`) and calls `python main.py <command> --config ... [--catalog ...] [--state ...]`
from the repository root. Nothing here talks to an API or knows about the sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT_SECONDS = 300


@dataclass
class ConnectorRun:
    """The outcome of one connector command: exit code, raw output, and stdout parsed line by line."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # every stdout line that parsed as a JSON object
    non_json_lines: list[str] = field(default_factory=list)  # every other non-empty stdout line

    @classmethod
    def parse(cls, command: list[str], returncode: int, stdout: str, stderr: str) -> ConnectorRun:
        run = cls(command, returncode, stdout, stderr)
        for line in stdout.splitlines():
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                run.non_json_lines.append(line)
                continue
            if isinstance(message, dict):
                run.messages.append(message)
            else:
                run.non_json_lines.append(line)
        return run

    def of_type(self, message_type: str) -> list[dict[str, Any]]:
        """Messages of one Airbyte type (RECORD, STATE, TRACE, LOG, CATALOG, ...)."""
        return [message for message in self.messages if message.get("type") == message_type]

    def records(self, stream: str) -> list[dict[str, Any]]:
        """The data of every record of `stream`, in emission order."""
        return [m["record"]["data"] for m in self.of_type("RECORD") if m["record"]["stream"] == stream]

    def records_by_stream(self) -> dict[str, list[dict[str, Any]]]:
        by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in self.of_type("RECORD"):
            by_stream[message["record"]["stream"]].append(message["record"]["data"])
        return dict(by_stream)

    def states(self, stream: str) -> list[dict[str, Any]]:
        """The `stream_state` blobs of `stream`'s per-stream STATE messages, in emission order."""
        return [
            m["state"]["stream"]["stream_state"]
            for m in self.of_type("STATE")
            if m["state"].get("stream", {}).get("stream_descriptor", {}).get("name") == stream
        ]

    def final_state(self) -> list[dict[str, Any]]:
        """The latest per-stream STATE of each stream: what Airbyte saves and passes to the next sync's `--state`."""
        latest: dict[str, dict[str, Any]] = {}
        for message in self.of_type("STATE"):
            state = message["state"]
            latest[state["stream"]["stream_descriptor"]["name"]] = state
        return list(latest.values())

    def traces(self, trace_type: Optional[str] = None) -> list[dict[str, Any]]:
        """TRACE payloads, optionally of one trace type (ERROR, STREAM_STATUS, ESTIMATE, ...)."""
        traces = [m["trace"] for m in self.of_type("TRACE")]
        return traces if trace_type is None else [t for t in traces if t.get("type") == trace_type]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [trace["error"] for trace in self.traces("ERROR")]

    @property
    def catalog(self) -> dict[str, Any]:
        """The catalog of a `discover` run."""
        (message,) = self.of_type("CATALOG")
        return message["catalog"]

    def assert_succeeded(self) -> None:
        """Exit code 0, no ERROR trace, and nothing on stdout that is not an Airbyte message."""
        assert self.returncode == 0 and not self.errors, (
            f"{' '.join(self.command[1:3])} failed with exit code {self.returncode}; errors: "
            f"{[e.get('message') for e in self.errors]}\nstderr tail:\n{self.stderr[-3000:]}"
        )
        assert not self.non_json_lines, f"stdout lines that are not JSON: {self.non_json_lines[:5]}"


def run_connector(
    command: str,
    workdir: Path,
    *,
    config: Optional[Mapping[str, Any]] = None,
    catalog: Optional[Mapping[str, Any]] = None,
    state: Optional[Sequence[Mapping[str, Any]]] = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ConnectorRun:
    """`python main.py <command> [--config C] [--catalog K] [--state S]` from the repository root.

    The inputs are written as JSON files under `workdir` (overwriting those of an earlier run there).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "main.py", command]
    for flag, value in (("config", config), ("catalog", catalog), ("state", state)):
        if value is not None:
            path = workdir / f"{flag}.json"
            path.write_text(json.dumps(value))
            argv += [f"--{flag}", str(path)]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return ConnectorRun.parse(argv, result.returncode, result.stdout, result.stderr)


def configured_catalog(discovered: Mapping[str, Any], sync_modes: Mapping[str, str]) -> dict[str, Any]:
    """A configured catalog selecting `sync_modes` ({stream name: "incremental" | "full_refresh"}) of a discovered catalog.

    Cursor and primary key are the stream's defaults; incremental streams are deduped, full refreshes overwrite.
    """
    streams = {stream["name"]: stream for stream in discovered["streams"]}
    configured = []
    for name, sync_mode in sync_modes.items():
        stream = streams[name]
        incremental = sync_mode == "incremental"
        configured.append(
            {
                "stream": stream,
                "sync_mode": sync_mode,
                "cursor_field": stream.get("default_cursor_field", []) if incremental else [],
                "destination_sync_mode": "append_dedup" if incremental else "overwrite",
                "primary_key": stream.get("source_defined_primary_key", []),
            }
        )
    return {"streams": configured}


def primary_keys(discovered: Mapping[str, Any]) -> dict[str, list[str]]:
    """{stream name: its primary key fields} (top-level fields only, as this connector's keys are)."""
    return {
        stream["name"]: [path[0] for path in stream.get("source_defined_primary_key", [])] for stream in discovered["streams"]
    }


def key_of(record: Mapping[str, Any], fields: Iterable[str]) -> tuple:
    """A record's primary key as a tuple."""
    return tuple(record.get(name) for name in fields)
