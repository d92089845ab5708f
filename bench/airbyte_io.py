"""Files the connector reads (config, catalog, state) and summaries of what it wrote."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import orjson


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value, indent=1))
    return path


def catalog(streams: Iterable[str], sync_mode: str = "incremental") -> dict:
    """A configured catalog; the connector reads its own schemas, so json_schema can stay empty."""
    return {
        "streams": [
            {
                "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                "sync_mode": sync_mode,
                "destination_sync_mode": "append",
            }
            for name in streams
        ]
    }


def state_file_value(states: dict[str, dict]) -> list[dict]:
    """Per-stream STATE messages, as the platform hands them back on the next sync."""
    return [
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": blob}} for name, blob in states.items()
    ]


_STREAM_KEY = b'"stream":"'


@dataclass
class OutputSummary:
    """Counts what a connector (or the floor) wrote: records per stream, last state per stream, errors."""

    records: Counter = field(default_factory=Counter)
    states: dict[str, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lines: int = 0

    def feed(self, line: bytes) -> None:
        self.lines += 1
        if line.startswith(b'{"type":"RECORD"'):
            start = line.index(_STREAM_KEY) + len(_STREAM_KEY)
            self.records[line[start : line.index(b'"', start)].decode()] += 1
            return
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.errors.append(f"not JSON: {line[:200]!r}")
            return
        kind = message.get("type")
        if kind == "RECORD":
            self.records[message["record"]["stream"]] += 1
        elif kind == "STATE":
            stream = message["state"].get("stream") or {}
            name = (stream.get("stream_descriptor") or {}).get("name")
            if name:
                self.states[name] = stream.get("stream_state") or {}
        elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
            self.errors.append(str(message["trace"]["error"].get("message")))

    @classmethod
    def of_file(cls, path: Path) -> OutputSummary:
        summary = cls()
        with open(path, "rb") as lines:
            for line in lines:
                summary.feed(line)
        return summary

    @property
    def total(self) -> int:
        return sum(self.records.values())


def record_digests(path: Path) -> dict[str, Counter]:
    """Per stream, a multiset of each record's data in canonical form; emitted_at is ignored.

    Canonical: sorted keys, and a top-level null the same as a missing key (the CDK's serializer omits
    top-level nulls from `data`, and destinations read both as null).
    """
    digests: dict[str, Counter] = {}
    with open(path, "rb") as lines:
        for line in lines:
            if not line.startswith(b'{"type":"RECORD"'):
                continue
            record = orjson.loads(line)["record"]
            canonical = _canonical(record["data"])
            digests.setdefault(record["stream"], Counter())[hash(canonical)] += 1
    return digests


def _canonical(data: dict) -> bytes:
    return orjson.dumps({key: value for key, value in data.items() if value is not None}, option=orjson.OPT_SORT_KEYS)


def compare_records(connector_out: Path, floor_out: Path) -> Optional[str]:
    """None when both wrote the same records per stream (as multisets), else what differs."""
    ours, floors = record_digests(connector_out), record_digests(floor_out)
    problems = []
    for stream in sorted(set(ours) | set(floors)):
        a, b = ours.get(stream, Counter()), floors.get(stream, Counter())
        if a != b:
            only_connector, only_floor = sum((a - b).values()), sum((b - a).values())
            problems.append(f"{stream}: {only_connector} records only in the connector's output, {only_floor} in the floor's")
    return "; ".join(problems) or None


def first_record_difference(connector_out: Path, floor_out: Path, stream: str) -> str:
    """A sample record that differs, for a readable failure message."""

    def load(path: Path) -> dict[str, dict]:
        rows = {}
        with open(path, "rb") as lines:
            for line in lines:
                if line.startswith(b'{"type":"RECORD"') and f'"stream":"{stream}"'.encode() in line[:80]:
                    data = orjson.loads(line)["record"]["data"]
                    rows[_canonical(data)] = data
        return rows

    ours, floors = load(connector_out), load(floor_out)
    for key in ours:
        if key not in floors:
            return f"connector wrote {key[:600].decode()}"
    for key in floors:
        if key not in ours:
            return f"floor wrote {key[:600].decode()}"
    return "no sample found"
