"""Fixtures for the unit tests.

No test ever really sleeps: `time.sleep` is replaced (autouse) by `FakeTime.sleep`, which records each
wait and advances a fake monotonic clock. The source's shared request budget is built on that same
clock, so the token bucket refills exactly as much as the recorded sleeps allow, and every HTTP
exchange is logged with its fake time. Tests assert on recorded waits, never on wall-clock time.
"""

from __future__ import annotations

import inspect
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from source_orderdesk.rate_limit import OrderDeskAPIBudget, TokenBucketPolicy

# Hypothesis keeps its example database and constants cache outside the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "source-orderdesk-unit-tests-hypothesis")


@dataclass(frozen=True)
class Exchange:
    """One HTTP request as it went out (after the budget let it), with the status it got."""

    at: float
    method: str
    url: str
    status: int


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: List[float] = []
        self.exchanges: List[Exchange] = []
        self._events: List[Tuple[str, Any]] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._events.append(("sleep", seconds))
        # A real sleep always overshoots a little. Without that, a wait the CDK rounded down to whole
        # microseconds (it passes waits as timedelta) would leave the token bucket a hair short forever.
        self.now += max(0.0, float(seconds)) + 1e-6

    def record(self, request: Any, response: Any) -> None:
        exchange = Exchange(self.now, request.method, request.url, getattr(response, "status_code", 0))
        self.exchanges.append(exchange)
        self._events.append(("exchange", exchange))

    @property
    def waits(self) -> List[float]:
        """Every non-zero sleep (the backoff library also calls `sleep(0)` between its own steps)."""
        return [seconds for seconds in self.sleeps if seconds]

    def waits_before(self, exchange_index: int) -> List[float]:
        """The non-zero sleeps between exchange `exchange_index - 1` and exchange `exchange_index`."""
        seen = -1
        waits: List[float] = []
        for kind, value in self._events:
            if kind == "exchange":
                seen += 1
                if seen == exchange_index:
                    return waits
                waits = []
            elif value:
                waits.append(value)
        raise IndexError(f"there is no exchange {exchange_index}; {seen + 1} were recorded")

    def urls(self, path_part: Optional[str] = None) -> List[str]:
        return [exchange.url for exchange in self.exchanges if path_part is None or path_part in exchange.url]


@pytest.fixture(autouse=True)
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr("time.sleep", fake.sleep)

    # Every token bucket built during the test (wherever the connector builds it) runs on the fake clock.
    init = TokenBucketPolicy.__init__
    names = list(inspect.signature(init).parameters)
    assert names[-1] == "clock", f"TokenBucketPolicy.__init__ changed: {names}"
    monkeypatch.setattr(init, "__defaults__", (*init.__defaults__[:-1], fake.monotonic))

    # The real budget, logging each exchange as it comes back (the budget sees every response).
    update_from_response = OrderDeskAPIBudget.update_from_response

    def recording_update(budget: OrderDeskAPIBudget, request: Any, response: Any) -> None:
        fake.record(request, response)
        update_from_response(budget, request, response)

    monkeypatch.setattr(OrderDeskAPIBudget, "update_from_response", recording_update)
    return fake
