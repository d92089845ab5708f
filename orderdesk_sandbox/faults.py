"""Fault injection: the failures a client of a real API over a real network must survive.

Faults are picked per request, before authentication and the token bucket
(they stand for the load balancer, the network or a sick backend), and the
faulted request takes no token. "slow" is the exception: it only delays a
normal answer.

Paths are the API paths below /api/v2 ("/orders", "/orders/123", "/store").
A path pattern may end in "*" to match a prefix; "*" alone matches every path.
"""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from orderdesk_sandbox.api import ApiResponse, error_response

FAULT_KINDS = frozenset(
    {
        "429",  # 429 with X-Retry-After: 1
        "429_no_header",  # 429 without any retry hint
        "500",
        "502",
        "503",
        "html",  # 502 with a load balancer's HTML page
        "html_200",  # 200 with an HTML page (a captive portal, a maintenance page)
        "truncated",  # 200 whose JSON stops half way; Content-Length matches the cut body
        "status_error",  # 200 with {"status": "error", ...}
        "slow",  # the normal answer after slow_seconds
        "drop",  # connection closed without an answer
        "reset",  # TCP RST (SO_LINGER 0, then close)
    }
)
CONNECTION_FAULTS = frozenset({"drop", "reset"})  # the server answers these by closing the socket

_LOAD_BALANCER_PAGE = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""
_MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html><head><title>Order Desk - Scheduled Maintenance</title></head>
<body><h1>We'll be right back.</h1><p>Order Desk is undergoing scheduled maintenance.</p></body>
</html>
"""
_JSON_ERRORS = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable"}


@dataclass
class _Injected:
    kind: str
    remaining: int
    path: str


@dataclass
class _Rate:
    kind: str
    rate: float
    path: str
    rng: random.Random


class Faults:
    """What the next requests suffer. Thread-safe; see the module doc for path patterns."""

    def __init__(self, slow_seconds: float = 2.0):
        self.slow_seconds = slow_seconds
        self._injected: list[_Injected] = []
        self._rates: list[_Rate] = []
        self._lock = threading.Lock()

    def inject(self, kind: str, count: int = 1, path: str = "/orders") -> None:
        """The next `count` requests to `path` get `kind` (queued after earlier injections)."""
        _check_kind(kind)
        with self._lock:
            self._injected.append(_Injected(kind, count, _normalize(path)))

    def set_rate(self, kind: str, rate: float, path: str = "/orders", seed: int = 0) -> None:
        """Each request to `path` gets `kind` with probability `rate` (seeded); rate 0 removes it."""
        _check_kind(kind)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        path = _normalize(path)
        with self._lock:
            self._rates = [r for r in self._rates if (r.kind, r.path) != (kind, path)]
            if rate > 0:
                self._rates.append(_Rate(kind, rate, path, random.Random(seed)))

    def clear(self) -> None:
        with self._lock:
            self._injected.clear()
            self._rates.clear()

    def take(self, path: str) -> str | None:
        """The fault this request gets, if any (uses up one injected fault)."""
        with self._lock:
            for injected in self._injected:
                if _matches(injected.path, path):
                    injected.remaining -= 1
                    if injected.remaining <= 0:
                        self._injected.remove(injected)
                    return injected.kind
            for rate in self._rates:
                if _matches(rate.path, path) and rate.rng.random() < rate.rate:
                    return rate.kind
        return None

    def describe(self) -> dict:
        with self._lock:
            return {
                "injected": [{"kind": i.kind, "remaining": i.remaining, "path": i.path} for i in self._injected],
                "rates": [{"kind": r.kind, "rate": r.rate, "path": r.path} for r in self._rates],
                "slow_seconds": self.slow_seconds,
            }


def fault_response(kind: str, normal_answer: Callable[[], ApiResponse], tokens_remaining: int) -> ApiResponse:
    """The answer for a fault that still sends something (all but "drop", "reset" and "slow")."""
    headers = {"X-Tokens-Remaining": str(tokens_remaining)}
    if kind == "429":
        return error_response(429, "Rate limit exceeded", {**headers, "X-Retry-After": "1"})
    if kind == "429_no_header":
        return error_response(429, "Rate limit exceeded", headers)
    if kind in _JSON_ERRORS:
        return error_response(int(kind), _JSON_ERRORS[kind], headers)
    if kind == "html":
        return ApiResponse(502, _LOAD_BALANCER_PAGE, headers, content_type="text/html")
    if kind == "html_200":
        return ApiResponse(200, _MAINTENANCE_PAGE, headers, content_type="text/html; charset=UTF-8")
    if kind == "status_error":
        return error_response(200, "Temporary database error", headers)
    if kind == "truncated":
        answer = normal_answer()
        answer.headers.update(headers)
        answer.body = answer.body[: max(1, len(answer.body) // 2)]
        return answer
    raise ValueError(f"fault {kind!r} has no response body")


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")


def _normalize(path: str) -> str:
    if path.startswith("/api/v2"):
        path = path[len("/api/v2") :]
    return path if path == "*" or path.startswith("/") else "/" + path


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern
