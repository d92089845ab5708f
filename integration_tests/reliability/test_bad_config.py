"""Bad configurations: `check` fails with a message a store owner can act on (it names the setting or
the fix), `read` fails with a clean config_error TRACE and a non-zero exit code, and nothing crashes.
The one exception is an API URL that refuses connections: the connector cannot tell that from an
outage, so its `read` retries and ends with a transient_error that says the connection was refused.

A value of the wrong JSON type ("page_size": "abc") is reported by the setting's name too, although the
CDK checks the config against spec.yaml before the connector runs (see `SourceOrderdesk.configure`).
Folder ids written as numeric strings (["31201"]) are not a bad config: they filter like numbers.

Each case runs `python main.py check`, `discover` and `read` as subprocesses; the runs are independent,
so they are started two at a time in a module fixture and each test judges its own.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest

from orderdesk_sandbox import Sandbox
from source_orderdesk.source import SourceOrderdesk

from .support import (
    API_KEY,
    Run,
    assert_clean_output,
    assert_succeeded,
    configured_catalog,
    result_of,
    run_connector,
    run_parallel,
)


@dataclass(frozen=True)
class Case:
    change: Callable[[dict], Any]  # the sandbox's good config -> the bad one (a dict, or raw file text)
    words: tuple[str, ...]  # each must appear in the message (case-insensitive): the setting or the fix
    read_failure_type: str = "config_error"
    fast_retries: bool = False  # for a read that would otherwise back off for minutes
    found_offline: bool = True  # False: only Order Desk can tell, so discover (which sends no request) succeeds


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _without(key: str) -> Callable[[dict], dict]:
    return lambda config: {k: v for k, v in config.items() if k != key}


def _with(**changes: Any) -> Callable[[dict], dict]:
    return lambda config: {**config, **changes}


WRONG_KEY = "relWRONG-key-3Hd81z"  # a key Order Desk refuses is still a secret: it must not be echoed either
NUMBER_KEY = 73914025  # so is a key written as a number
CASES: dict[str, Case] = {
    "wrong api key": Case(_with(api_key=WRONG_KEY), ("API key", "Store Settings, API tab"), found_offline=False),
    "wrong store id": Case(_with(store_id="9999"), ("Store ID", "Store Settings, API tab"), found_offline=False),
    "store id not a number": Case(_with(store_id="my-store"), ("Store ID", "not a number")),
    "unreachable api url": Case(
        lambda config: {**config, "api_url": f"http://127.0.0.1:{_closed_port()}/api/v2"},
        ("connection was refused",),
        # A refused connection is an outage as far as the connector can tell (api_url is a hidden setting).
        read_failure_type="transient_error",
        fast_retries=True,
        found_offline=False,
    ),
    "malformed start date": Case(_with(start_date="2024/01/31"), ("Start Date", "YYYY-MM-DD")),
    "start date not in the calendar": Case(_with(start_date="2024-02-30"), ("Start Date", "YYYY-MM-DD")),
    "start date in the future": Case(_with(start_date="2999-01-01"), ("Start Date", "future")),
    "page size 0": Case(_with(page_size=0), ("page_size", "1 to 500")),
    "page size 501": Case(_with(page_size=501), ("page_size", "1 to 500")),
    "page size abc": Case(_with(page_size="abc"), ("Page Size", "page_size", "whole number", "'abc'")),
    "page size in quotes": Case(_with(page_size="100"), ("page_size", "without quotes")),
    "negative lookback": Case(_with(lookback_window_minutes=-5), ("lookback_window_minutes",)),
    "lookback in quotes": Case(_with(lookback_window_minutes="60"), ("lookback_window_minutes", "without quotes")),
    "store id as a number": Case(lambda config: {**config, "store_id": int(config["store_id"])}, ("store_id", "in quotes")),
    "api key as a number": Case(_with(api_key=NUMBER_KEY), ("api_key", "in quotes")),
    "start date as a number": Case(_with(start_date=20240131), ("start_date", "2024-01-31")),
    "missing store id": Case(_without("store_id"), ("store_id",)),
    "missing api key": Case(_without("api_key"), ("api_key",)),
    "folder ids not numbers": Case(
        _with(folder_ids=["Shipped", "New"]), ("Folder IDs", "folder_ids", "'Shipped' is not a folder id")
    ),
    "folder ids not a list": Case(_with(folder_ids="31201"), ("folder_ids", "list")),
    "config file not JSON": Case(lambda config: '{"store_id": "4471", "api_key": ', ("JSON",)),
}
COVERED_SETTINGS = {"api_key", "store_id", "api_url", "start_date", "page_size", "lookback_window_minutes", "folder_ids"}
KNOWN_BUGS: dict[str, str] = {}  # case name -> the bug that makes it fail, marked strict xfail


def _cases(found_offline: Optional[bool] = None) -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN_BUGS[name]))
        if name in KNOWN_BUGS
        else name
        for name, case in CASES.items()
        if found_offline is None or case.found_offline == found_offline
    ]


@pytest.fixture(scope="module")
def bad_config_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    root = tmp_path_factory.mktemp("bad_config")
    catalog = configured_catalog()
    with Sandbox.start(orders=30, seed=31, api_key=API_KEY) as sandbox:
        jobs = {}
        for n, (name, case) in enumerate(CASES.items()):
            config = case.change(sandbox.config())
            for command in ("check", "discover", "read") if case.found_offline else ("check", "read"):
                jobs[(name, command)] = _job(command, root / f"{n}-{command}", config, catalog, case.fast_retries)
        return run_parallel(jobs, workers=2)


def _job(command: str, workdir: Any, config: Any, catalog: dict, fast_retries: bool) -> Callable[[], Run]:
    return lambda: run_connector(
        command, workdir, config=config, catalog=catalog if command == "read" else None, fast_retries=fast_retries
    )


def _assert_no_key(run: Run) -> None:
    assert WRONG_KEY not in run.stdout + run.stderr
    assert str(NUMBER_KEY) not in run.stdout + run.stderr


def _assert_names_the_fix(message: Optional[str], words: tuple[str, ...]) -> None:
    assert message, "the failure has a message"
    missing = [word for word in words if word.lower() not in message.lower()]
    assert not missing, f"the message {message!r} does not say {missing}"


@pytest.mark.parametrize("name", _cases())
def test_given_a_bad_config_when_checking_then_the_check_fails_with_a_message_naming_the_setting_or_fix(
    bad_config_runs: dict[tuple[str, str], Any], name: str
) -> None:
    run = result_of(bad_config_runs[(name, "check")])
    assert_clean_output(run)
    _assert_no_key(run)
    statuses = run.of_type("CONNECTION_STATUS")
    if statuses:
        assert run.connection_status["status"] == "FAILED", run.describe()
        _assert_names_the_fix(run.connection_status.get("message"), CASES[name].words)
    else:
        # Only a config file that cannot be read at all ends in a trace instead of a status.
        assert name == "config file not JSON", run.describe()
        assert run.returncode != 0 and len(run.errors) == 1, run.describe()
        assert run.errors[0]["failure_type"] == "config_error"
        _assert_names_the_fix(run.errors[0]["message"], CASES[name].words)


@pytest.mark.parametrize("name", _cases())
def test_given_a_bad_config_when_reading_then_it_fails_with_a_clean_trace_and_a_non_zero_exit_code(
    bad_config_runs: dict[tuple[str, str], Any], name: str
) -> None:
    run = result_of(bad_config_runs[(name, "read")])
    assert_clean_output(run)
    _assert_no_key(run)
    assert run.returncode != 0, run.describe()
    assert not run.records(), "nothing was read"
    assert run.errors, run.describe()
    for error in run.errors:
        assert error["failure_type"] == CASES[name].read_failure_type, run.describe()
        _assert_names_the_fix(error["message"], CASES[name].words)


def test_given_an_unreachable_api_url_when_reading_then_the_streams_after_the_order_pass_are_not_requested(
    bad_config_runs: dict[tuple[str, str], Any],
) -> None:
    # Each would retry its first request for five minutes more, as the order pass did.
    run = result_of(bad_config_runs[("unreachable api url", "read")])
    logs = [message["log"]["message"] for message in run.of_type("LOG")]
    for stream in ("folders", "store", "inventory_items"):
        assert run.stream_statuses(stream) == ["INCOMPLETE"], run.describe()
        assert f"Stream {stream} was not read: Order Desk could not be reached" in "\n".join(logs), stream


@pytest.mark.parametrize("name", _cases(found_offline=True))
def test_given_a_bad_config_when_discovering_then_it_fails_with_a_clean_config_error_naming_the_setting_or_fix(
    bad_config_runs: dict[tuple[str, str], Any], name: str
) -> None:
    run = result_of(bad_config_runs[(name, "discover")])
    assert_clean_output(run)
    _assert_no_key(run)
    assert run.returncode != 0, run.describe()
    assert not run.of_type("CATALOG"), "no catalog for a bad config"
    assert len(run.errors) == 1, run.describe()
    assert run.errors[0]["failure_type"] == "config_error", run.describe()
    _assert_names_the_fix(run.errors[0]["message"], CASES[name].words)


def test_given_the_spec_when_listing_its_settings_then_each_has_a_bad_config_case() -> None:
    """Guards the case list: a setting added to the spec needs its own bad case here."""
    spec = SourceOrderdesk().spec(logging.getLogger("airbyte")).connectionSpecification
    assert set(spec["properties"]) <= COVERED_SETTINGS


FOLDERS = ("31202", " 31204 ")  # as a user may write them in a config file, spaces included (7 of the 30 orders)


@pytest.fixture(scope="module")
def numeric_string_folder_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], set[str]]:
    """check and read with folder ids written as strings, and the ids of the sandbox's orders in those folders."""
    root = tmp_path_factory.mktemp("numeric_string_folders")
    with Sandbox.start(orders=30, seed=31, api_key=API_KEY) as sandbox:
        config = sandbox.config(folder_ids=list(FOLDERS))
        wanted = {folder.strip() for folder in FOLDERS}
        in_folders = {str(order["id"]) for order in sandbox.store.orders_snapshot() if str(order["folder_id"]) in wanted}
        jobs = {
            command: _job(command, root / command, config, configured_catalog(["orders"]), fast_retries=False)
            for command in ("check", "read")
        }
        return run_parallel(jobs, workers=2), in_folders


def test_given_folder_ids_as_numeric_strings_when_checking_then_the_check_succeeds(
    numeric_string_folder_runs: tuple[dict[str, Any], set[str]],
) -> None:
    run = result_of(numeric_string_folder_runs[0]["check"])
    assert_clean_output(run)
    assert run.connection_status["status"] == "SUCCEEDED", run.describe()


def test_given_folder_ids_as_numeric_strings_when_reading_then_only_orders_in_those_folders_are_read(
    numeric_string_folder_runs: tuple[dict[str, Any], set[str]],
) -> None:
    runs, in_folders = numeric_string_folder_runs
    run = result_of(runs["read"])
    assert_succeeded(run)
    assert 0 < len(in_folders) < 30, "the sandbox has orders inside and outside the folders"
    assert sorted(str(record["id"]) for record in run.records("orders")) == sorted(in_folders)
