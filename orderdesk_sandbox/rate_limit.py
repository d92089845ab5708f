"""Order Desk's request budget: a token bucket per store (§5 of the API notes).

Capacity 20, starting full, refilled continuously at 3 tokens per second; each
answered request takes one token. An empty bucket (fewer than 1 token) means
HTTP 429 with `X-Retry-After` in whole seconds, and the refused request takes
nothing.
"""

import math
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

DEFAULT_CAPACITY = 20
DEFAULT_REFILL_PER_SECOND = 3.0


class Decision(NamedTuple):
    allowed: bool
    tokens_remaining: int  # floor(tokens) after this request: the X-Tokens-Remaining header
    retry_after: int  # seconds until one token is back: the X-Retry-After header (0 when allowed)


class TokenBucket:
    def __init__(
        self,
        capacity: float = DEFAULT_CAPACITY,
        refill_per_second: float = DEFAULT_REFILL_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self._clock = clock
        self._tokens = float(capacity)
        self._refilled_at = clock()
        self._lock = threading.Lock()

    def take(self) -> Decision:
        """Spend one token if there is one."""
        with self._lock:
            self._refill()
            if self._tokens < 1:
                wait = math.ceil((1 - self._tokens) / self.refill_per_second)
                return Decision(False, math.floor(self._tokens), max(wait, 1))
            self._tokens -= 1
            return Decision(True, math.floor(self._tokens), 0)

    def peek(self) -> int:
        """Whole tokens left, without spending one."""
        with self._lock:
            self._refill()
            return math.floor(self._tokens)

    def reset(self) -> None:
        with self._lock:
            self._tokens = float(self.capacity)
            self._refilled_at = self._clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._refilled_at) * self.refill_per_second)
        self._refilled_at = now


class RateLimiter:
    """One bucket per store id; switched off, it allows everything and reports a full bucket."""

    def __init__(
        self,
        enabled: bool = True,
        capacity: float = DEFAULT_CAPACITY,
        refill_per_second: float = DEFAULT_REFILL_PER_SECOND,
    ):
        self.enabled = enabled
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, store_id: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(store_id)
            if bucket is None:
                bucket = self._buckets[store_id] = TokenBucket(self.capacity, self.refill_per_second)
            return bucket

    def take(self, store_id: str) -> Decision:
        if not self.enabled:
            return Decision(True, math.floor(self.capacity), 0)
        return self.bucket(store_id).take()

    def peek(self, store_id: str) -> int:
        if not self.enabled:
            return math.floor(self.capacity)
        return self.bucket(store_id).peek()

    def reset(self) -> None:
        """Refill every bucket (tests use it between scenarios)."""
        with self._lock:
            buckets = list(self._buckets.values())
        for bucket in buckets:
            bucket.reset()
