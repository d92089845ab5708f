"""A sync killed at a random point (SIGKILL: no cleanup, no final state) loses nothing once it is resumed.

For several seeds, `python main.py read` is killed right after its N-th line of stdout, N drawn from
the seed. The next attempt gets the last STATE of each stream that the killed run emitted (what the
platform saved), and the records of both attempts, kept the way an append_dedup destination keeps
them, must equal the sandbox's data in all eight order tables.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
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
    run_until_killed,
)

SEEDS = (1, 2, 3)
ORDERS = 300
PAGE_SIZE = 20
LOOKBACK_MINUTES = 10


def _kill_and_resume(seed: int, workdir: Path) -> Callable[[], tuple[Run, Run, Sandbox, int]]:
    def job() -> tuple[Run, Run, Sandbox, int]:
        sandbox = Sandbox.start(orders=ORDERS, seed=100 + seed, api_key=API_KEY)
        try:
            rows = sum(len(keys) for table, keys in sandbox.store.expected_keys().items() if table in ORDER_TABLES)
            kill_after = random.Random(seed).randint(10, rows)
            config = sandbox.config(page_size=PAGE_SIZE, lookback_window_minutes=LOOKBACK_MINUTES)
            # The eight incremental order tables only: with order_ids (a full refresh) selected, every sync
            # starts at the start date, and the resume would not depend on the saved state at all.
            catalog = configured_catalog(ORDER_TABLES)
            killed = run_until_killed(workdir / "killed", config=config, catalog=catalog, kill_after_lines=kill_after)
            resumed = run_connector("read", workdir / "resumed", config=config, catalog=catalog, state=killed.final_state())
        finally:
            sandbox.stop()
        return killed, resumed, sandbox, kill_after

    return job


@pytest.fixture(scope="module")
def kill_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    root = tmp_path_factory.mktemp("kill")
    return run_parallel({seed: _kill_and_resume(seed, root / str(seed)) for seed in SEEDS}, workers=2)


@pytest.mark.parametrize("seed", SEEDS)
def test_given_a_sync_killed_at_a_random_point_when_resumed_from_its_last_states_then_every_order_table_is_complete(
    kill_runs: dict[int, Any], seed: int
) -> None:
    killed, resumed, sandbox, kill_after = result_of(kill_runs[seed])
    assert killed.killed and killed.returncode != 0, f"the sync ended before its line {kill_after}"
    assert len(killed.messages) == kill_after
    assert_clean_output(killed)
    assert_succeeded(resumed)
    saved = killed.cursors().get("orders", {}).get("date_updated")
    if saved:  # the resume starts at the saved cursor less the lookback, not at the start date
        resumed_from = datetime.fromisoformat(saved.replace("Z", "+00:00")) - timedelta(minutes=LOOKBACK_MINUTES)
        earlier = [
            r["id"]
            for r in resumed.records("orders")
            if datetime.fromisoformat(r["date_updated"].replace("Z", "+00:00")) < resumed_from
        ]
        assert not earlier, f"the resumed sync re-read orders from before its saved state ({saved}): {earlier[:5]}"
    # Nothing is deleted in this scenario, so every order of the store exists.
    assert_same_view(destination_view([killed, resumed], existing_ids=sandbox.store.order_ids()), expected_view(sandbox.store))
