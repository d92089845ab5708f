"""The files and arguments a command-line user hands the connector: a missing or broken config, catalog or
state file is a config error that names the file and the problem (never a traceback), a misspelt setting is
warned about, and a missing command gets a usage line."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from source_orderdesk.config import ConfigError
from source_orderdesk.source import SourceOrderdesk

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "integration_tests" / "configured_catalog.json"
GOOD_CONFIG = {"store_id": "4471", "api_key": "a-key-of-some-length"}

READERS: dict[str, Callable[[SourceOrderdesk, str], Any]] = {
    "config": lambda source, path: source.read_config(path),
    "catalog": lambda source, path: source.read_catalog(path),
    "state": lambda source, path: source.read_state(path),
}
# (what is in the file, or None for no file; words the message must hold)
PROBLEMS = {
    "missing": (None, "does not exist"),
    "not JSON": ('{"streams": [', "is not valid JSON: Expecting value: line 1 column 14"),
    "not UTF-8": (b"\xff\xfe{}", "is not valid JSON"),
}
WRONG_SHAPES = {
    "config": ("[1, 2]", "must hold a JSON object with store_id and api_key"),
    "catalog": ('{"streams": [{"sync_mode": "full_refresh"}]}', "is not an Airbyte configured catalog"),
    "state": ('[{"type": "STREAM", "stream": {}}]', "is not Airbyte state"),
    "legacy state": (
        '{"orders": {"date_updated": "2024-01-01"}}',
        'older connectors. Airbyte state is a list of the "state" of each stream\'s',
    ),
    "text state": ('"hello"', "it holds 'hello', not a list. Airbyte state is a list"),
    "number state": ("42", "it holds 42, not a list"),
}


def _file(tmp_path: Path, content: str | bytes | None) -> str:
    path = tmp_path / "input.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    return str(path)


@pytest.mark.parametrize("kind", list(READERS))
@pytest.mark.parametrize("content, words", list(PROBLEMS.values()), ids=list(PROBLEMS))
def test_given_a_broken_input_file_when_read_then_a_config_error_names_the_file_and_the_problem(
    kind: str, content: str | bytes | None, words: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, content)

    with pytest.raises(ConfigError) as raised:
        READERS[kind](SourceOrderdesk(), path)

    assert raised.value.message.startswith(f"The {kind} file {path} ")
    assert words in raised.value.message


@pytest.mark.parametrize("kind", list(WRONG_SHAPES))
def test_given_valid_json_of_the_wrong_shape_when_read_then_a_config_error_says_what_the_file_should_hold(
    kind: str, tmp_path: Path
) -> None:
    content, words = WRONG_SHAPES[kind]

    with pytest.raises(ConfigError) as raised:
        READERS[kind.split()[-1]](SourceOrderdesk(), _file(tmp_path, content))

    assert words in raised.value.message


def test_given_good_files_when_read_then_catalog_and_state_are_parsed(tmp_path: Path) -> None:
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "orders"}, "stream_state": {"date_updated": "x"}}}]
    source = SourceOrderdesk()

    assert [s.stream.name for s in source.read_catalog(str(CATALOG)).streams][:1] == ["orders"]
    assert [m.stream.stream_descriptor.name for m in source.read_state(_file(tmp_path, json.dumps(state)))] == ["orders"]
    assert source.read_state(None) == []  # no --state: a first sync


_STREAM_STATE = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "orders"}, "stream_state": {"date_updated": "x"}}}
# Shapes a user gets by copying from a read's output: unambiguous, so they are read as the state they hold.
COPIED_SHAPES = {
    "one stream state": _STREAM_STATE,
    "one STATE message": {"type": "STATE", "state": _STREAM_STATE},
    "a list of STATE messages": [{"type": "STATE", "state": _STREAM_STATE}],
}


@pytest.mark.parametrize("content", list(COPIED_SHAPES.values()), ids=list(COPIED_SHAPES))
def test_given_state_copied_from_a_reads_output_when_read_then_it_is_the_state_it_holds(content: Any, tmp_path: Path) -> None:
    messages = SourceOrderdesk().read_state(_file(tmp_path, json.dumps(content)))

    assert [(m.stream.stream_descriptor.name, m.stream.stream_state.date_updated) for m in messages] == [("orders", "x")]


@pytest.mark.parametrize("content", ["{}", "null", "[]"])
def test_given_an_empty_state_file_when_read_then_it_is_no_state_as_the_cdk_reads_it(content: str, tmp_path: Path) -> None:
    assert SourceOrderdesk().read_state(_file(tmp_path, content)) == []


def test_given_a_reads_whole_output_as_the_state_file_when_read_then_the_error_says_what_a_state_file_holds(
    tmp_path: Path,
) -> None:
    output = "\n".join(json.dumps({"type": "STATE", "state": _STREAM_STATE}) for _ in range(2))

    with pytest.raises(ConfigError) as raised:
        SourceOrderdesk().read_state(_file(tmp_path, output))

    assert "is not valid JSON: Extra data" in raised.value.message
    assert "A read's output is not a state file" in raised.value.message


def test_given_json_lines_as_the_config_file_when_read_then_the_error_does_not_speak_of_state(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        SourceOrderdesk().read_config(_file(tmp_path, json.dumps(GOOD_CONFIG) + "\n" + json.dumps(GOOD_CONFIG)))

    assert "is not valid JSON: Extra data" in raised.value.message
    assert "state" not in raised.value.message


def test_given_a_misspelt_setting_when_configured_then_a_warning_names_it_and_the_likely_setting(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    config = {**GOOD_CONFIG, "stat_date": "2024-01-01", "_limit": 5, "colour": "blue"}

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        SourceOrderdesk().configure(config, str(tmp_path))

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "The config has a setting 'stat_date' that this connector does not know; it is ignored. Did you mean 'start_date'?",
        "The config has a setting 'colour' that this connector does not know; it is ignored.",
    ]


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_given_a_missing_catalog_file_when_read_runs_as_a_process_then_one_clean_config_error_and_exit_code_1(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(GOOD_CONFIG))

    result = _main("read", "--config", str(config), "--catalog", str(tmp_path / "nope.json"))

    errors = [json.loads(line) for line in result.stdout.splitlines() if '"type":"TRACE"' in line]
    assert result.returncode == 1
    assert [error["trace"]["error"]["failure_type"] for error in errors] == ["config_error"]
    assert errors[0]["trace"]["error"]["message"] == f"The catalog file {tmp_path / 'nope.json'} does not exist."
    assert "Traceback" not in result.stdout + result.stderr
    assert GOOD_CONFIG["api_key"] not in result.stdout + result.stderr


def test_given_ctrl_c_during_a_read_when_run_as_a_process_then_a_line_on_stderr_no_traceback_and_exit_code_130(
    tmp_path: Path,
) -> None:
    with socket.socket() as closed:  # nothing listens: the read retries, waiting between tries
        closed.bind(("127.0.0.1", 0))
        config = tmp_path / "config.json"
        config.write_text(json.dumps({**GOOD_CONFIG, "api_url": f"http://127.0.0.1:{closed.getsockname()[1]}/api/v2"}))
        argv = [sys.executable, "main.py", "read", "--config", str(config), "--catalog", str(CATALOG)]
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            for line in process.stdout:  # the read is under way by this line
                if "Caught retryable error" in line:
                    break
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()

    assert process.returncode == 130
    assert "Interrupted; a read resumes from the last STATE it printed." in stderr
    assert "Traceback" not in stderr


def test_given_no_command_when_run_then_a_usage_line_and_exit_code_2() -> None:
    result = _main()

    assert result.returncode == 2
    assert result.stderr.startswith("usage: source-orderdesk {spec,check,discover,read}")
    assert "Traceback" not in result.stdout + result.stderr


def test_given_a_file_nested_too_deeply_for_json_when_read_then_a_config_error_not_a_recursion_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        SourceOrderdesk().read_config(_file(tmp_path, "[" * 100_000))

    assert "nests its JSON too deeply" in raised.value.message


def test_given_a_global_state_when_read_then_a_config_error_says_the_state_is_not_per_stream(tmp_path: Path) -> None:
    shared = {"type": "GLOBAL", "global": {"shared_state": {"cursor": "x"}, "stream_states": []}}
    state = SourceOrderdesk().read_state(_file(tmp_path, json.dumps([shared])))
    source = SourceOrderdesk()
    catalog = source.read_catalog(str(CATALOG))

    with pytest.raises(ConfigError) as raised:
        next(iter(source.read(logging.getLogger("airbyte"), GOOD_CONFIG, catalog, state)))

    assert "not usable per-stream Airbyte state" in raised.value.message


def test_given_a_config_file_saved_with_a_byte_order_mark_when_read_then_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD_CONFIG).encode())

    assert SourceOrderdesk().read_config(str(path)) == GOOD_CONFIG
