"""The token bucket shared by every request, and the wait read from Order Desk's `X-Retry-After`."""

from __future__ import annotations

import time
from typing import List, Optional

import pytest
import requests
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit

from source_orderdesk.api import RetryAfterBackoff
from source_orderdesk.rate_limit import (
    BURST,
    REFILL_PER_SECOND,
    SAFE_BURST,
    SAFE_REFILL_PER_SECOND,
    OrderDeskAPIBudget,
    TokenBucketPolicy,
    retry_after_seconds,
)


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """A real sleep always overshoots a little; without that, a wait the CDK rounded down to whole
        microseconds would leave the bucket a hair short forever on a fake clock."""
        self.advance(seconds + 1e-6)


def _request() -> requests.PreparedRequest:
    return requests.Request("GET", "https://app.orderdesk.me/api/v2/orders").prepare()


def _response(status: int = 200, headers: Optional[dict] = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = b"{}"
    return response


def _drain(policy: TokenBucketPolicy) -> int:
    taken = 0
    while True:
        try:
            policy.try_acquire(_request(), weight=1)
        except CallRateLimitHit:
            return taken
        taken += 1


# --- TokenBucketPolicy --------------------------------------------------------------------------


def test_given_the_defaults_when_building_the_bucket_then_it_stays_just_under_order_desks_20_burst_and_3_per_second() -> None:
    assert (BURST, REFILL_PER_SECOND) == (20, 3.0)
    assert SAFE_BURST < BURST and SAFE_BURST >= BURST - 2
    assert SAFE_REFILL_PER_SECOND < REFILL_PER_SECOND and SAFE_REFILL_PER_SECOND >= 0.9 * REFILL_PER_SECOND

    policy = TokenBucketPolicy(clock=Clock())

    assert policy.tokens == SAFE_BURST


def test_given_a_full_bucket_when_acquiring_without_time_passing_then_exactly_the_burst_is_granted() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())

    assert _drain(policy) == 20


def test_given_an_empty_bucket_when_acquiring_then_the_hit_says_how_long_one_token_takes_to_refill() -> None:
    policy = TokenBucketPolicy(capacity=5, refill_per_second=2.0, clock=Clock())
    _drain(policy)

    with pytest.raises(CallRateLimitHit) as hit:
        policy.try_acquire(_request(), weight=1)

    assert hit.value.time_to_wait.total_seconds() == pytest.approx(0.5)


def test_given_an_empty_bucket_when_time_passes_then_tokens_refill_at_the_rate() -> None:
    clock = Clock()
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=clock)
    _drain(policy)

    clock.advance(2.0)

    assert policy.tokens == pytest.approx(6.0)
    assert _drain(policy) == 6


def test_given_a_long_idle_time_when_refilling_then_tokens_never_exceed_the_capacity() -> None:
    clock = Clock()
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=clock)
    _drain(policy)

    clock.advance(3600)

    assert policy.tokens == 20
    assert _drain(policy) == 20


def test_given_the_server_reports_fewer_tokens_when_updating_then_the_bucket_drops_to_what_the_server_has() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())

    policy.update(available_calls=3, call_reset_ts=None)

    # the header is the server's bucket rounded down (it holds 3 to 4 tokens): its floor is what is certain
    assert policy.tokens == 3
    assert _drain(policy) == 3


def test_given_our_count_is_exactly_one_token_above_the_servers_when_updating_then_it_is_cut_to_the_servers() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())
    for _ in range(16):
        policy.try_acquire(_request(), weight=1)

    policy.update(available_calls=3, call_reset_ts=None)  # we hold 4; the server holds less than 4

    assert policy.tokens == 3


def test_given_our_count_is_less_than_one_token_above_the_servers_when_updating_then_it_is_kept() -> None:
    clock = Clock()
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=clock)
    for _ in range(17):
        policy.try_acquire(_request(), weight=1)
    clock.advance(0.5 / 3.0)  # half a token refilled while the request was in flight: we hold 3.5

    policy.update(available_calls=3, call_reset_ts=None)  # the server may hold 3.5 too: the refill is kept

    assert policy.tokens == pytest.approx(3.5)


def test_given_the_server_reports_more_tokens_when_updating_then_the_bucket_is_not_raised() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())
    for _ in range(15):
        policy.try_acquire(_request(), weight=1)

    policy.update(available_calls=20, call_reset_ts=None)

    assert policy.tokens == pytest.approx(5)


def test_given_no_header_value_when_updating_then_the_bucket_is_unchanged() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())
    policy.try_acquire(_request(), weight=1)

    policy.update(available_calls=None, call_reset_ts=None)

    assert policy.tokens == 19


# --- OrderDeskAPIBudget -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, headers, expected",
    [
        (200, {"X-Tokens-Remaining": "7"}, 7),
        (200, {"X-Tokens-Remaining": "7.9"}, 7),
        (200, {}, None),
        (200, {"X-Tokens-Remaining": "lots"}, None),
        (429, {}, 0),
        (429, {"X-Tokens-Remaining": "2"}, 2),
    ],
)
def test_given_a_response_when_reading_tokens_remaining_then_missing_or_malformed_values_are_tolerated(
    status: int, headers: dict, expected: Optional[int]
) -> None:
    assert OrderDeskAPIBudget().get_calls_left_from_response(_response(status, headers)) == expected


def test_given_a_response_with_tokens_remaining_when_the_budget_updates_then_the_policy_follows_the_header() -> None:
    policy = TokenBucketPolicy(capacity=20, refill_per_second=3.0, clock=Clock())
    budget = OrderDeskAPIBudget(policy)

    budget.update_from_response(_request(), _response(200, {"X-Tokens-Remaining": "2"}))

    assert policy.tokens == 2


def test_given_order_desk_reports_no_tokens_left_when_acquiring_then_the_wait_lets_its_bucket_refill_a_whole_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sleeps: List[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    budget = OrderDeskAPIBudget(TokenBucketPolicy(clock=clock))

    budget.update_from_response(_request(), _response(200, {"X-Tokens-Remaining": "0"}))
    budget.acquire_call(_request())

    assert sum(sleeps) >= 1 / REFILL_PER_SECOND


def test_given_a_burst_then_a_steady_stream_when_acquiring_then_the_budget_paces_calls_at_the_refill_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    sleeps: List[float] = []
    call_times: List[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    budget = OrderDeskAPIBudget(TokenBucketPolicy(clock=clock))

    for _ in range(SAFE_BURST + 30):
        budget.acquire_call(_request())
        call_times.append(clock.now)

    assert call_times[SAFE_BURST - 1] == call_times[0]  # the burst goes out at once
    assert sum(sleeps) == pytest.approx(30 / SAFE_REFILL_PER_SECOND, abs=1e-3)
    # Order Desk's own bucket (20, +3/s, starting full) would have accepted every one of these calls
    tokens, last = float(BURST), call_times[0]
    for at in call_times:
        tokens = min(BURST, tokens + (at - last) * REFILL_PER_SECOND)
        last = at
        assert tokens >= 1 - 1e-9
        tokens -= 1


# --- X-Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"X-Retry-After": "5"}, 5.0),
        ({"X-Retry-After": "2.5"}, 2.5),
        ({"X-Retry-After": "0"}, 0.0),
        ({}, None),
        ({"X-Retry-After": "soon"}, None),
        ({"X-Retry-After": "-3"}, None),
        ({"X-Retry-After": "86400"}, None),
        ({"Retry-After": "5"}, None),
    ],
)
def test_given_a_429_when_reading_x_retry_after_then_only_a_sane_number_of_seconds_is_used(
    headers: dict, expected: Optional[float]
) -> None:
    assert retry_after_seconds(_response(429, headers)) == expected


def test_given_a_429_with_x_retry_after_when_backing_off_then_the_strategy_returns_one_second_less_for_the_cdks_extra_one() -> (
    None
):
    assert RetryAfterBackoff().backoff_time(_response(429, {"X-Retry-After": "5"}), attempt_count=1) == 4.0


def test_given_a_429_with_x_retry_after_of_at_most_one_second_when_backing_off_then_a_tiny_positive_wait_is_returned() -> None:
    backoff = RetryAfterBackoff().backoff_time(_response(429, {"X-Retry-After": "1"}), attempt_count=1)

    assert backoff is not None and 0 < backoff < 0.001  # never 0: the CDK reads 0 as "no advice"


@pytest.mark.parametrize(
    "response_or_exception",
    [
        _response(429, {}),
        _response(500, {"X-Retry-After": "5"}),
        _response(503, {}),
        requests.exceptions.ReadTimeout("slow"),
        None,
    ],
)
def test_given_no_usable_x_retry_after_when_backing_off_then_the_cdks_exponential_backoff_is_left_in_charge(
    response_or_exception: object,
) -> None:
    assert RetryAfterBackoff().backoff_time(response_or_exception, attempt_count=1) is None
