"""No order is lost while the store changes under a sync.

While the connector pages through `/orders` with small pages, request hooks modify, add and delete
orders, some of them inside the bulk second (one `date_updated` second holding more orders than a
page, which the connector pages by offset) and some just ahead of the connector's position. Then:

* every order that existed when the sync started and was neither modified nor deleted during it
  was emitted by that sync, in the version it had (a sync may instead stop with a transient error
  when one second never settles; the next sync must then still deliver everything);
* one more sync from the saved state completes, and an append_dedup destination holding both syncs
  (latest version per primary key, deleted orders dropped via `order_ids`, child rows of older
  versions dropped via `order_date_updated`) equals the sandbox's current data exactly.

The property test runs the connector in this process (over HTTP to the sandbox) so that a dozen
examples fit in a bounded runtime: it spares each run the CDK's import, and it turns the rate limit
off on both sides (the sandbox's bucket and the connector's own budget), because pacing is not what
it tests and would only add waiting. The example test runs `python main.py` subprocesses against a
rate-limited sandbox, with nothing patched.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk_sandbox import Sandbox
from source_orderdesk.rate_limit import OrderDeskAPIBudget, TokenBucketPolicy

from .support import (
    API_KEY,
    ORDER_TABLES,
    Run,
    assert_clean_output,
    assert_same_view,
    configured_catalog,
    destination_view,
    expected_view,
    read_in_process,
    result_of,
    rfc3339,
    run_connector,
    run_parallel,
    store_secrets,
)

PAGING_GAVE_UP = "kept changing while they were read"
# Whether each example's first sync completed (the property test appends, the test after it judges).
FIRST_SYNC_OUTCOMES: list[bool] = []


def _unpaced_budget() -> OrderDeskAPIBudget:
    return OrderDeskAPIBudget(TokenBucketPolicy(capacity=100_000, refill_per_second=100_000.0))


@dataclass
class Mutator:
    """A request hook: after some successful `/orders` answers, modify, add and delete orders.

    Each order is modified or deleted at most once, so that every version of an order has its own
    `date_updated` second (two edits in one second are indistinguishable to any client).
    `target` picks the victims: "any" order, orders of the "bulk" second, orders "ahead" of the
    page just served (not yet read, or at its boundary second), or orders of the "paged second"
    while the connector pages one second by offset (any order otherwise).
    """

    sandbox: Sandbox
    rng: random.Random
    rate: float
    modify: int
    add: int
    delete: int
    target: str
    original: dict[str, str]  # id -> date_updated at sync start
    bulk_ids: set[str]
    active: bool = True
    touched: set[str] = field(default_factory=set)  # modified or deleted during the sync
    deleted: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)
    requests_seen: int = 0

    def __call__(self, path: str, params: dict, status: int) -> None:
        if not self.active or path != "/orders" or status != 200:
            return
        self.requests_seen += 1
        if self.rng.random() >= self.rate:
            return
        store = self.sandbox.store
        with store.lock:
            candidates = sorted(i for i in store.order_ids() if i not in self.touched and i not in self.added)
            if self.target == "bulk":
                pool = [i for i in candidates if i in self.bulk_ids] or candidates
            elif self.target == "ahead":
                start = params.get("modified_start_date", "")
                pool = [i for i in candidates if self.original.get(i, "") >= start] or candidates
            elif self.target == "paged second" and params.get("modified_start_date") == params.get("modified_end_date"):
                second = params.get("modified_start_date")
                pool = [i for i in candidates if self.original.get(i) == second] or candidates
            else:
                pool = candidates
            victims = self.rng.sample(pool, min(len(pool), self.modify + self.delete))
            modified, deleted = victims[: self.modify], victims[self.modify :]
            if modified:
                store.modify(ids=modified, rng_seed=self.rng.randrange(2**32))
            if deleted:
                store.delete(ids=deleted)
                self.deleted.update(deleted)
            self.touched.update(victims)
            if self.add:
                self.added.update(store.add(self.add))


def _start_mutating(sandbox: Sandbox, seed: int, rate: float, modify: int, add: int, delete: int, target: str) -> Mutator:
    snapshot = sandbox.store.orders_snapshot()
    original = {str(order["id"]): order["date_updated"] for order in snapshot}
    bulk_second, _ = Counter(original.values()).most_common(1)[0]
    mutator = Mutator(
        sandbox,
        random.Random(seed),
        rate,
        modify,
        add,
        delete,
        target,
        original,
        bulk_ids={order_id for order_id, updated in original.items() if updated == bulk_second},
    )
    sandbox.on_request(mutator)
    return mutator


def _assert_untouched_orders_emitted(first: Run, mutator: Mutator) -> None:
    emitted = {str(row["id"]): row["date_updated"] for row in first.records("orders")}
    untouched = set(mutator.original) - mutator.touched
    missing = sorted(untouched - set(emitted))
    assert not missing, f"{len(missing)} orders unchanged during the sync were not emitted, e.g. {missing[:5]}"
    wrong = {i: (emitted[i], mutator.original[i]) for i in untouched if emitted[i] != rfc3339(mutator.original[i])}
    assert not wrong, f"unchanged orders emitted with another date_updated: {dict(list(wrong.items())[:3])}"


def _assert_every_surviving_order_listed(first: Run, mutator: Mutator) -> None:
    """order_ids lists every order that existed at sync start and still exists, modified during the sync or not."""
    listed = [str(row["id"]) for row in first.records("order_ids")]
    assert len(listed) == len(set(listed)), "an order is listed once, even if it was read again after it changed"
    missing = sorted(set(mutator.original) - mutator.deleted - set(listed))
    assert not missing, f"{len(missing)} orders that exist were not listed in order_ids, e.g. {missing[:5]}"


def _read_until_settled(read: Any, attempts: int = 3) -> Run:
    """A sync of a store that no longer changes, retried (as the platform retries a job) while it gives up on
    a second whose order Order Desk reshuffles on every request: with order_by ignored and ties unordered,
    paging a bulk second by offset may need more passes than the connector allows. Any other outcome ends it."""
    for attempt in range(attempts):
        run = read(attempt)
        assert_clean_output(run)
        if run.returncode == 0 and not run.errors:
            return run
        assert all(PAGING_GAVE_UP in error["message"] for error in run.errors), run.describe()
    raise AssertionError(f"{attempts} syncs of an unchanging store gave up: {run.describe()}")


def _assert_first_sync_outcome(first: Run) -> bool:
    """True if the first sync completed; otherwise it must have stopped with a transient, explained error."""
    if first.returncode == 0 and not first.errors:
        return True
    assert first.returncode != 0, first.describe()
    assert first.errors, first.describe()
    for error in first.errors:
        assert error["failure_type"] == "transient_error", first.describe()
        assert PAGING_GAVE_UP in error["message"] and "again later" in error["message"], first.describe()
    return False


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    store_seed=st.integers(1, 10_000),
    hook_seed=st.integers(0, 2**16),
    page_size=st.integers(4, 11),
    rate=st.sampled_from([0.25, 0.5, 1.0]),
    modify=st.integers(0, 2),
    add=st.integers(0, 1),
    delete=st.integers(0, 1),
    target=st.sampled_from(["any", "bulk", "ahead", "paged second"]),
    quirk=st.sampled_from(["none", "shuffled ties", "order_by ignored", "order_by ignored, shuffled ties"]),
    lookback=st.sampled_from([0, 10]),
)
def test_given_orders_changing_while_paged_when_synced_twice_then_no_unchanged_order_is_missed_and_the_union_is_exact(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    order_catalog: dict[str, Any],
    incremental_catalog: dict[str, Any],
    store_seed: int,
    hook_seed: int,
    page_size: int,
    rate: float,
    modify: int,
    add: int,
    delete: int,
    target: str,
    quirk: str,
    lookback: int,
) -> None:
    workdir = tmp_path / f"example-{store_seed}-{hook_seed}-{page_size}"
    with (
        Sandbox.start(
            orders=80,
            seed=store_seed,
            api_key=API_KEY,
            rate_limit=False,
            shuffle_ties="shuffled ties" in quirk,
            ignore_order_by="order_by ignored" in quirk,
            tie_seed=hook_seed,
        ) as sandbox,
        mock.patch("source_orderdesk.source.OrderDeskAPIBudget", _unpaced_budget),
    ):
        # No lookback at all is allowed too: the checkpoints alone must make the next sync skip nothing.
        config = sandbox.config(page_size=page_size, lookback_window_minutes=lookback)
        mutator = _start_mutating(sandbox, hook_seed, rate, modify, add, delete, target)

        first = read_in_process(workdir / "first", config, order_catalog)
        mutator.active = False
        completed = _assert_first_sync_outcome(first)
        if completed:
            _assert_untouched_orders_emitted(first, mutator)
            _assert_every_surviving_order_listed(first, mutator)

        # The next sync reads the order tables from the saved state (order_ids, a full refresh, would make it
        # start at the start date), then order_ids alone says which orders exist.
        state = first.final_state(ORDER_TABLES)
        second = _read_until_settled(lambda n: read_in_process(workdir / f"second-{n}", config, incremental_catalog, state))
        existing = _read_until_settled(
            lambda n: read_in_process(workdir / f"existing-{n}", config, configured_catalog(["order_ids"]))
        )
        existing_ids = {str(row["id"]) for row in existing.records("order_ids")}
        assert existing_ids == sandbox.store.order_ids()
        assert_same_view(destination_view([first, second], existing_ids), expected_view(sandbox.store))
        assert not sandbox.hook_errors, sandbox.hook_errors
    FIRST_SYNC_OUTCOMES.append(completed)

    logged = capsys.readouterr()
    for run in (first, second, existing):
        assert_clean_output(run)
    for secret in store_secrets().values():
        assert secret not in logged.out and secret not in logged.err


def test_given_the_property_examples_when_their_first_syncs_are_counted_then_most_completed() -> None:
    """A first sync may give up on a second that never settles, and then the property test cannot check that
    no unchanged order was missed; most examples must complete, or that check would test nothing."""
    if not FIRST_SYNC_OUTCOMES:
        pytest.skip("the property test did not run in this session")
    completed = sum(FIRST_SYNC_OUTCOMES)
    assert completed >= 0.75 * len(FIRST_SYNC_OUTCOMES), f"{completed} of {len(FIRST_SYNC_OUTCOMES)} first syncs completed"


def test_given_mutations_after_every_page_and_inside_the_bulk_second_when_main_py_syncs_twice_then_the_union_is_exact(
    tmp_path: Path, make_sandbox: Any, order_catalog: dict[str, Any], incremental_catalog: dict[str, Any]
) -> None:
    sandbox = make_sandbox(orders=150, seed=11)
    page_size = 8
    # After every /orders answer one order is modified, one added and one deleted; while the connector
    # pages the bulk second by offset, the modified and deleted ones come from that very second.
    mutator = _start_mutating(sandbox, seed=5, rate=1.0, modify=1, add=1, delete=1, target="paged second")
    assert len(mutator.bulk_ids) > page_size, "the scenario needs a second that holds more orders than a page"
    config = sandbox.config(page_size=page_size)

    first = run_connector("read", tmp_path / "first", config=config, catalog=order_catalog)
    mutator.active = False
    assert_clean_output(first)
    assert first.returncode == 0 and not first.errors, first.describe()
    assert mutator.touched & mutator.bulk_ids, "orders left the bulk second while it was paged"
    assert mutator.added, "orders were added during the sync"
    _assert_untouched_orders_emitted(first, mutator)
    _assert_every_surviving_order_listed(first, mutator)

    second = run_connector(
        "read", tmp_path / "second", config=config, catalog=incremental_catalog, state=first.final_state(ORDER_TABLES)
    )
    assert_clean_output(second)
    assert second.returncode == 0 and not second.errors, second.describe()
    assert len(second.records("orders")) < len(sandbox.store), "the second sync starts from the saved state"
    existing = run_connector("read", tmp_path / "existing", config=config, catalog=configured_catalog(["order_ids"]))
    existing_ids = {str(row["id"]) for row in existing.records("order_ids")}
    assert existing_ids == sandbox.store.order_ids()
    assert_same_view(destination_view([first, second], existing_ids), expected_view(sandbox.store))
    assert not sandbox.hook_errors, sandbox.hook_errors


def test_given_order_by_ignored_and_unstable_ties_when_the_newest_second_fills_the_first_page_then_every_order_is_read(
    tmp_path: Path, order_catalog: dict[str, Any]
) -> None:
    """Found by the property test ("order_by ignored" with shuffled ties): 40 orders imported in one second
    are the newest; the API serves date_added DESC whatever order_by says, ties in a new order per request
    (MySQL without a tie-breaker), so the first page looks sorted and the descending probe answers with
    another order of that second. The probe's second question (is there an order before the page?) catches
    it. Two tie seeds, so that a lucky probe (1 in 40) cannot hide the problem."""

    def sync(tie_seed: int) -> Any:
        def job() -> tuple[Run, set[str]]:
            with Sandbox.start(
                orders=60, seed=7, api_key=API_KEY, ignore_order_by=True, shuffle_ties=True, tie_seed=tie_seed
            ) as sandbox:
                sandbox.store.add(40)
                run = run_connector("read", tmp_path / str(tie_seed), config=sandbox.config(page_size=10), catalog=order_catalog)
                return run, sandbox.store.order_ids()

        return job

    for outcome in run_parallel({seed: sync(seed) for seed in (1, 2)}).values():
        run, existing = result_of(outcome)
        assert_clean_output(run)
        assert run.returncode == 0 and not run.errors, run.describe()
        emitted = {str(row["id"]) for row in run.records("orders")}
        assert emitted == existing, f"{len(existing - emitted)} of {len(existing)} orders were never read"
