"""Faults of a real API over a real network: each sync either completes with exactly the expected data,
or stops with a clean Airbyte TRACE error that says what happened and whether it is transient or a
configuration problem; state emitted before a failure is safe to resume from.

Transient faults that then succeed run through `python main.py` with its real backoff (each costs a
second or a few). A persistent fault runs the same entry point with the retry loops' sleeps removed
(`fast_retries`, see support.py): retries with exponential backoff would otherwise take minutes.
Independent connector runs are started a few at a time (`run_parallel`) to bound the runtime.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from orderdesk_sandbox import Sandbox

from .support import (
    API_KEY,
    ORDER_TABLES,
    Run,
    assert_clean_output,
    assert_same_view,
    assert_succeeded,
    configured_catalog,
    destination_view,
    expected_view,
    result_of,
    run_connector,
    run_parallel,
    store_secrets,
)

ORDERS = 150
PAGE_SIZE = 25

# Per group of transient faults: {path: [fault kinds, in the order the requests to that path get them]}.
# "/orders" faults start after the second successful page, in the middle of the sync.
TRANSIENT_GROUPS: dict[str, dict[str, list[str]]] = {
    "server errors": {"/test": ["500"], "/orders": ["502"], "/store": ["503"], "/inventory-items": ["html"]},
    "bodies that are not the API's JSON": {
        "/test": ["html_200"],
        "/orders": ["truncated", "status_error"],
        "/store": ["status_error"],
        "/inventory-items": ["truncated"],
    },
    "broken and slow connections": {
        "/test": ["drop"],
        "/orders": ["reset", "slow"],
        "/store": ["slow"],
        "/inventory-items": ["reset"],
    },
    "bursts of 429": {"/test": ["429", "429", "429"], "/orders": ["429_no_header", "429_no_header"], "/store": ["429"]},
}

# Persistent faults: (failure_type, words the message must contain so the user knows what happened).
PERSISTENT_FAULTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "500": ("transient_error", ("HTTP 500",)),
    "503": ("transient_error", ("HTTP 503",)),
    "html": ("transient_error", ("HTTP 502",)),
    "html_200": ("transient_error", ("not JSON",)),
    "truncated": ("transient_error", ("not JSON",)),
    "status_error": ("transient_error", ("Temporary database error",)),
    "reset": ("transient_error", ("connection",)),
    "drop": ("transient_error", ("connection",)),
    "429": ("transient_error", ("rate limit",)),
    "429_no_header": ("transient_error", ("rate limit",)),
}
WRONG_API_PATH = "wrong API path (404)"


def _plan_faults(sandbox: Sandbox, plan: dict[str, list[str]]) -> None:
    for path, kinds in plan.items():
        if path != "/orders":
            for kind in kinds:
                sandbox.faults.inject(kind, 1, path)
    mid_sync = plan.get("/orders", [])
    pages_seen = []

    def inject_mid_sync(path: str, params: dict, status: int) -> None:
        if path == "/orders" and status == 200:
            pages_seen.append(params)
            if len(pages_seen) == 2:
                for kind in mid_sync:
                    sandbox.faults.inject(kind, 1, "/orders")

    sandbox.on_request(inject_mid_sync)


def _transient_job(name: str, workdir: Path) -> Callable[[], tuple[Run, Sandbox]]:
    def job() -> tuple[Run, Sandbox]:
        sandbox = Sandbox.start(orders=ORDERS, seed=21, api_key=API_KEY)
        try:
            _plan_faults(sandbox, TRANSIENT_GROUPS[name])
            run = run_connector("read", workdir, config=sandbox.config(page_size=PAGE_SIZE), catalog=configured_catalog())
        finally:
            sandbox.stop()
        return run, sandbox

    return job


def _persistent_job(name: str, workdir: Path) -> Callable[[], tuple[Run, Sandbox]]:
    def job() -> tuple[Run, Sandbox]:
        sandbox = Sandbox.start(orders=40, seed=22, api_key=API_KEY)
        try:
            if name == WRONG_API_PATH:
                config = sandbox.config(api_url=sandbox.base_url + "/api/v9")
            else:
                sandbox.faults.set_rate(name, 1.0, "*")
                config = sandbox.config()
            catalog = configured_catalog([*ORDER_TABLES, "order_ids"])
            run = run_connector("read", workdir, config=config, catalog=catalog, fast_retries=True)
        finally:
            sandbox.stop()
        return run, sandbox

    return job


@pytest.fixture(scope="module")
def transient_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("transient")
    return run_parallel({name: _transient_job(name, root / str(n)) for n, name in enumerate(TRANSIENT_GROUPS)}, workers=2)


@pytest.fixture(scope="module")
def persistent_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("persistent")
    names = [*PERSISTENT_FAULTS, WRONG_API_PATH]
    return run_parallel({name: _persistent_job(name, root / str(n)) for n, name in enumerate(names)}, workers=2)


@pytest.mark.parametrize("group", list(TRANSIENT_GROUPS))
def test_given_transient_faults_when_syncing_then_the_sync_completes_with_exactly_the_expected_data(
    transient_runs: dict[str, Any], group: str
) -> None:
    run, sandbox = result_of(transient_runs[group])
    assert_succeeded(run)
    planned = Counter(kind for kinds in TRANSIENT_GROUPS[group].values() for kind in kinds)
    assert sandbox.stats.faults_served == planned, "every planned fault was served"

    assert_same_view(destination_view([run]), expected_view(sandbox.store))
    order_ids = [str(row["id"]) for row in run.records("orders")]
    assert len(order_ids) == len(set(order_ids)) == ORDERS, "each order exactly once"
    expected = sandbox.store.expected_keys()
    assert {(str(row["id"]),) for row in run.records("folders")} == expected["folders"]
    assert {(str(row["id"]),) for row in run.records("inventory_items")} == expected["inventory_items"]
    assert [row["id"] for row in run.records("store")] == [sandbox.store_id]


@pytest.mark.parametrize("fault", [*PERSISTENT_FAULTS, WRONG_API_PATH])
def test_given_a_persistent_fault_when_syncing_then_it_stops_with_a_clean_trace_saying_what_happened(
    persistent_runs: dict[str, Any], fault: str
) -> None:
    run, _ = result_of(persistent_runs[fault])
    assert_clean_output(run)
    assert run.returncode != 0, run.describe()
    assert not run.records(), "no record was read"
    assert run.errors, run.describe()
    failure_type, words = ("config_error", ("API URL",)) if fault == WRONG_API_PATH else PERSISTENT_FAULTS[fault]
    for error in run.errors:
        assert error["failure_type"] == failure_type, run.describe()
        for word in words:
            assert word.lower() in error["message"].lower(), run.describe()
    assert set(run.stream_statuses("orders")) >= {"STARTED", "INCOMPLETE"}
    assert "COMPLETE" not in run.stream_statuses("orders")


def test_given_a_fault_that_persists_from_mid_sync_when_resumed_from_the_last_state_then_the_union_is_exact(
    tmp_path: Path, make_sandbox: Any
) -> None:
    # The eight incremental order tables only: order_ids (a full refresh) would make every sync start at the start date.
    catalog = configured_catalog(ORDER_TABLES)
    sandbox = make_sandbox(orders=300, seed=23)
    config = sandbox.config(page_size=20)
    pages = []

    def fail_from_the_fifth_page(path: str, params: dict, status: int) -> None:
        if path == "/orders" and status == 200:
            pages.append(params)
            if len(pages) == 4:
                sandbox.faults.set_rate("503", 1.0, "/orders")

    sandbox.on_request(fail_from_the_fifth_page)
    failed = run_connector("read", tmp_path / "failed", config=config, catalog=catalog, fast_retries=True)
    assert_clean_output(failed)
    assert failed.returncode != 0 and failed.errors, failed.describe()
    assert {error["failure_type"] for error in failed.errors} == {"transient_error"}
    assert "HTTP 503" in failed.errors[0]["message"]
    saved = failed.final_state()
    assert saved, "states were emitted before the failure"
    assert failed.records("orders"), "records were emitted before the failure"

    sandbox.faults.clear()
    sandbox.clear_request_hooks()
    sandbox.stats.reset()
    resumed = run_connector("read", tmp_path / "resumed", config=config, catalog=catalog, state=saved)
    assert_succeeded(resumed)
    first_request = next(params for _, path, params, _, _ in sandbox.stats.log if path == "/orders")
    assert first_request["modified_start_date"] > "2015-01-01 00:00:00", "the resumed sync started from the saved state"
    assert_same_view(destination_view([failed, resumed], existing_ids=sandbox.store.order_ids()), expected_view(sandbox.store))


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Sandbox]:
    """A sync with `--debug` (what a user turns on to troubleshoot faults): the CDK then logs every request
    and response, bodies included, and a server error on /orders and /store on the way."""
    with Sandbox.start(orders=40, seed=24, api_key=API_KEY) as sandbox:
        sandbox.faults.inject("500", 1, "/orders")
        sandbox.faults.inject("503", 1, "/store")
        run = run_connector(
            "read",
            tmp_path_factory.mktemp("debug"),
            config=sandbox.config(),
            catalog=configured_catalog(),
            extra_args=["--debug"],
        )
    return run, sandbox


def _lines_with(run: Run, secret: str) -> list[str]:
    return [line[:300] for line in (run.stdout + run.stderr).splitlines() if secret in line]


def test_given_debug_logging_and_faults_when_syncing_then_the_api_key_appears_in_no_line(debug_run: tuple[Run, Sandbox]) -> None:
    run, sandbox = debug_run
    assert run.returncode == 0 and not run.errors, run.describe()
    assert sandbox.stats.faults_served == Counter({"500": 1, "503": 1})
    assert any(m.get("type") == "DEBUG" for m in run.messages), "debug logging was on"
    assert not _lines_with(run, store_secrets()["API key"])


def test_given_debug_logging_when_syncing_the_store_then_the_store_smtp_password_appears_in_no_line(
    debug_run: tuple[Run, Sandbox],
) -> None:
    run, _ = debug_run
    assert run.records("store"), "the store stream was read"
    assert not _lines_with(run, store_secrets()["SMTP password"])
