"""Counters and a request log, so tests can assert how a client used the API."""

import threading
import time
from collections import Counter


class Stats:
    """What the sandbox served. Read the attributes directly; they are replaced on reset().

    * requests_by_path: API path (without /api/v2 and the query) -> requests received
    * served_429: every 429 answered (rate limiter and injected "429"/"429_no_header" faults)
    * rate_limited: the 429s that came from the token bucket alone
    * faults_served: fault kind -> times served
    * log: (method, path, params, status, time.monotonic()) per request; status 0 when
      the connection was dropped or reset without an answer
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests_by_path: Counter[str] = Counter()
            self.served_429 = 0
            self.rate_limited = 0
            self.faults_served: Counter[str] = Counter()
            self.log: list[tuple[str, str, dict, int, float]] = []

    def record(self, method: str, path: str, params: dict, status: int, fault: str | None, rate_limited: bool) -> None:
        with self._lock:
            self.requests_by_path[path] += 1
            if status == 429:
                self.served_429 += 1
            if rate_limited:
                self.rate_limited += 1
            if fault is not None:
                self.faults_served[fault] += 1
            self.log.append((method, path, params, status, time.monotonic()))

    @property
    def requests_total(self) -> int:
        with self._lock:
            return sum(self.requests_by_path.values())

    def as_dict(self) -> dict:
        """JSON-ready counters (the log is summarised as its length)."""
        with self._lock:
            return {
                "requests_total": sum(self.requests_by_path.values()),
                "requests_by_path": dict(self.requests_by_path),
                "served_429": self.served_429,
                "rate_limited": self.rate_limited,
                "faults_served": dict(self.faults_served),
                "log_length": len(self.log),
            }
