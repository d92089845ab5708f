"""One request budget per sync, shaped like Order Desk's own limiter (a bucket of 20, refilled at 3/s)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Callable, Optional

import requests
from airbyte_cdk.sources.streams.call_rate import BaseCallRatePolicy, CallRateLimitHit, HttpAPIBudget

BURST = 20
REFILL_PER_SECOND = 3.0
TOKENS_REMAINING_HEADER = "X-Tokens-Remaining"
RETRY_AFTER_HEADER = "X-Retry-After"

# Our clock and Order Desk's never agree exactly; a slightly smaller bucket and refill keep a long
# sync just under the limit (no 429s) at a cost of about 3% of the throughput.
SAFE_BURST = BURST - 1
SAFE_REFILL_PER_SECOND = 2.9


class TokenBucketPolicy(BaseCallRatePolicy):
    """A leaky bucket, which the CDK's moving and fixed windows cannot express without losing the burst."""

    def __init__(
        self,
        capacity: int = SAFE_BURST,
        refill_per_second: float = SAFE_REFILL_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(matchers=[])
        self._capacity = float(capacity)
        self._refill_per_second = refill_per_second
        self._clock = clock
        self._tokens = float(capacity)
        self._updated_at = clock()
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, request: Any, weight: int) -> None:
        with self._lock:
            self._refill()
            if self._tokens >= weight:
                self._tokens -= weight
                return
            wait = (weight - self._tokens) / self._refill_per_second
        raise CallRateLimitHit(
            error="Order Desk request budget spent; waiting for the bucket to refill",
            item=request,
            weight=weight,
            rate=f"{self._refill_per_second}/s",
            time_to_wait=timedelta(seconds=wait),
        )

    def update(self, available_calls: Optional[int], call_reset_ts: Any) -> None:
        """Follow the server when it holds fewer tokens than we think (another app shares the store's bucket).

        The header is the server's bucket rounded down: it holds between R and R + 1 tokens. Cutting
        our own count to R on every response would throw away the refill that happened while the
        request was in flight and slow a long sync by a third, so only a count above R + 1, which
        the server cannot have, is cut, and then to R.
        """
        if available_calls is None:
            return
        with self._lock:
            self._refill()
            if self._tokens >= available_calls + 1:
                self._tokens = float(available_calls)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated_at) * self._refill_per_second)
        self._updated_at = now


class OrderDeskAPIBudget(HttpAPIBudget):
    """Reads Order Desk's `X-Tokens-Remaining` and tolerates a missing or malformed value."""

    def __init__(self, policy: TokenBucketPolicy | None = None) -> None:
        super().__init__(
            ratelimit_remaining_header=TOKENS_REMAINING_HEADER,
            status_codes_for_ratelimit_hit=[429],
            policies=[policy or TokenBucketPolicy()],
        )

    def get_calls_left_from_response(self, response: requests.Response) -> Optional[int]:
        try:
            return int(float(response.headers[TOKENS_REMAINING_HEADER]))
        except (KeyError, TypeError, ValueError):
            return 0 if response.status_code == 429 else None

    def get_reset_ts_from_response(self, response: requests.Response) -> None:
        return None


def retry_after_seconds(response: requests.Response) -> Optional[float]:
    """Order Desk's wait hint on a 429, in seconds, or None when absent or unreadable."""
    try:
        value = float(response.headers[RETRY_AFTER_HEADER])
    except (KeyError, TypeError, ValueError):
        return None
    return value if 0 <= value <= 3600 else None
