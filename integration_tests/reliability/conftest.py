"""Fixtures of the reliability tests (see support.py for how the connector is run and judged)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from orderdesk_sandbox import Sandbox

from .support import API_KEY, ORDER_TABLES, configured_catalog

# Hypothesis keeps its files outside the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "source-orderdesk-reliability-hypothesis")


@pytest.fixture(scope="session")
def full_catalog() -> dict[str, Any]:
    """Every stream: the eight order tables incremental, order_ids, folders, store and inventory_items full refresh."""
    return configured_catalog()


@pytest.fixture(scope="session")
def order_catalog() -> dict[str, Any]:
    """The eight order tables (incremental) and order_ids (full refresh): one pass over /orders."""
    return configured_catalog([*ORDER_TABLES, "order_ids"])


@pytest.fixture(scope="session")
def incremental_catalog() -> dict[str, Any]:
    """The eight order tables alone, all incremental: a sync of them starts at the saved state."""
    return configured_catalog(ORDER_TABLES)


@pytest.fixture
def make_sandbox() -> Iterator[Any]:
    """`make_sandbox(orders=..., seed=..., **options)`: a sandbox with the tests' distinctive API key, stopped afterwards."""
    started: list[Sandbox] = []

    def make(orders: int = 200, seed: int = 1, **options: Any) -> Sandbox:
        sandbox = Sandbox.start(orders=orders, seed=seed, api_key=API_KEY, **options)
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()
