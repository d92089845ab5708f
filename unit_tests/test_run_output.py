"""`run.py`'s faster output path gives the CDK's output: the same records (nulls written out), the same
record counts on STATE messages, every other message untouched, and the CDK's own code back afterwards."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER, init_logger
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    AirbyteStreamStatus,
    StreamDescriptor,
    SyncMode,
    Type,
)
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_message

from source_orderdesk.run import StdoutBuffer, count_records, fast_record_output, message_to_output

ROOT = Path(__file__).resolve().parents[1]
CDK_TO_STRING = AirbyteEntrypoint.airbyte_message_to_string
CDK_COUNTS = AirbyteEntrypoint.handle_record_counts

ORDERS_STREAM = AirbyteStream(name="orders", json_schema={}, supported_sync_modes=[SyncMode.full_refresh])
RECORD_DATA = {
    "plain": {"id": "48120337", "order_total": 93.22, "quantity_total": 3, "folder_id": "31202"},
    "nulls at the top and below": {"id": "1", "cost": None, "shipping": {"company": None, "city": "Madison"}},
    "unicode and escapes": {"name": 'Zoë’s "quoted" \\ café ☕', "note": "line\nbreak\ttab", "url": "a/b"},
    "nested lists and maps": {"metadata": {"tags": ["a", None, 1], "deep": {"x": [{"y": 2.5}]}}, "empty": {}},
    "big numbers": {"big": 2**62, "negative": -17, "float": 1e-7, "zero": 0.0},
}


def _record(data: dict[str, Any], stream: str = "orders", namespace: str | None = None) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream=stream, data=data, emitted_at=1733270400123, namespace=namespace)
    )


def _state(stream: str) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=stream),
                stream_state=AirbyteStateBlob(date_updated="2024-03-05T14:02:19Z"),
            ),
        ),
    )


def _without_top_level_nulls(line: str) -> dict[str, Any]:
    message = orjson.loads(line)
    message["record"]["data"] = {key: value for key, value in message["record"]["data"].items() if value is not None}
    return message


def message_to_string(message: AirbyteMessage) -> str:
    """What run.py writes for `message`, as the CDK's text line (records come as bytes with their newline)."""
    output = message_to_output(message)
    return output.decode().removesuffix("\n") if isinstance(output, bytes) else output


@pytest.mark.parametrize("data", list(RECORD_DATA.values()), ids=list(RECORD_DATA))
def test_given_a_record_when_written_then_it_is_the_cdks_line_with_its_null_fields_written_out(data: dict[str, Any]) -> None:
    assert message_to_output(_record(data)).endswith(b"}\n"), "a record is one line of bytes"
    ours, cdk = message_to_string(_record(data)), CDK_TO_STRING(_record(data))

    assert orjson.loads(ours)["record"]["data"] == data
    assert _without_top_level_nulls(ours) == orjson.loads(cdk)
    if None not in data.values():
        assert ours == cdk


def test_given_a_record_with_a_namespace_when_written_then_the_cdk_writes_it() -> None:
    message = _record({"id": "1", "cost": None}, namespace="shop")

    assert message_to_string(message) == CDK_TO_STRING(message)


def test_given_a_value_orjson_cannot_write_when_written_then_the_cdks_fallback_writes_it() -> None:
    message = _record({"id": "1", "huge": 2**70})  # beyond 64 bits: orjson refuses, the CDK falls back to json

    assert orjson.loads(message_to_string(message))["record"]["data"] == {"id": "1", "huge": 2**70}


def test_given_messages_other_than_records_when_written_then_each_line_is_exactly_the_cdks() -> None:
    messages = [
        _state("orders"),
        stream_status_message(
            AirbyteStream(name="orders", json_schema={}, supported_sync_modes=[SyncMode.full_refresh]),
            AirbyteStreamStatus.RUNNING,
        ),
    ]

    assert [message_to_string(m) for m in messages] == [CDK_TO_STRING(m) for m in messages]


def test_given_records_and_states_of_two_streams_when_counted_then_each_state_carries_the_cdks_record_count() -> None:
    sequence = ["orders", "orders", "order_items", "STATE orders", "order_items", "orders", "STATE order_items", "STATE orders"]

    def counted(count: Any) -> list[float]:
        counts: defaultdict = defaultdict(float)
        out = []
        for step in sequence:
            if step.startswith("STATE "):
                out.append(count(_state(step.split()[1]), counts).state.sourceStats.recordCount)
            else:
                count(_record({"id": "1"}, stream=step), counts)
        return out

    assert counted(count_records) == counted(CDK_COUNTS) == [2.0, 2.0, 1.0]


def test_given_the_fast_output_when_it_ends_even_by_an_error_then_the_cdks_own_functions_are_back() -> None:
    with pytest.raises(RuntimeError), fast_record_output():
        assert AirbyteEntrypoint.airbyte_message_to_string is message_to_output
        assert AirbyteEntrypoint.handle_record_counts is count_records
        raise RuntimeError("the sync failed")

    assert AirbyteEntrypoint.airbyte_message_to_string is CDK_TO_STRING
    assert AirbyteEntrypoint.handle_record_counts is CDK_COUNTS


def test_given_the_entrypoint_when_spec_runs_as_a_process_then_stdout_is_one_message_per_line_ending_with_the_spec() -> None:
    result = subprocess.run([sys.executable, "main.py", "spec"], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    types = [orjson.loads(line)["type"] for line in result.stdout.splitlines()]
    assert types[-1] == "SPEC" and set(types[:-1]) <= {"LOG"}
    assert result.stdout.endswith("}\n") and "\n\n" not in result.stdout


def test_given_records_and_text_when_written_through_the_stdout_buffer_then_the_output_keeps_their_order() -> None:
    sink = io.BytesIO()

    with StdoutBuffer(sink) as out:
        out.write_record(b'{"record": 1}\n')
        init_logger("airbyte").warning("between the records")  # the CDK's log handler writes to PRINT_BUFFER
        print("printed")  # sys.stdout, as under PRINT_BUFFER
        out.write_record(b'{"record": 2}\n')
        out.write('{"type": "STATE"}\n')
        assert sink.getvalue().endswith(b'{"type": "STATE"}\n'), "text goes out at once, after what is pending"
        out.write_record(b'{"record": 3}\n')

    lines = sink.getvalue().decode().splitlines()
    assert lines[0] == '{"record": 1}' and lines[-1] == '{"record": 3}'
    assert "between the records" in lines[1] and lines[2:] == ["printed", '{"record": 2}', '{"type": "STATE"}', '{"record": 3}']


def test_given_the_stdout_buffer_when_records_pass_a_chunk_then_they_are_sent_and_the_rest_waits() -> None:
    sink = io.BytesIO()
    line = b"x" * 1000 + b"\n"

    with StdoutBuffer(sink) as out:
        for _ in range(StdoutBuffer.CHUNK_BYTES // len(line) + 1):
            out.write_record(line)
        sent = len(sink.getvalue())
        out.write_record(line)
        assert sent >= StdoutBuffer.CHUNK_BYTES and len(sink.getvalue()) == sent, "one chunk sent, the next pending"

    assert len(sink.getvalue()) == sent + len(line), "what was pending is sent when the buffer closes"


def test_given_the_stdout_buffer_when_it_closes_even_by_an_error_then_stdout_and_the_cdks_print_buffer_are_back() -> None:
    stdout, stderr = sys.stdout, sys.stderr

    with pytest.raises(RuntimeError), StdoutBuffer(io.BytesIO()):
        assert PRINT_BUFFER.write.__self__ is not PRINT_BUFFER
        raise RuntimeError("the sync failed")

    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    assert PRINT_BUFFER.write.__func__ is type(PRINT_BUFFER).write
    assert PRINT_BUFFER.flush.__func__ is type(PRINT_BUFFER).flush
