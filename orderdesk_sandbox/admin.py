"""Admin endpoints under /_sandbox/ (no auth, loopback only) for driving a sandbox from outside.

GET  /_sandbox/stats          counters, store size, pending faults
GET  /_sandbox/expected_counts  rows per stream (from Store.expected_keys)
POST /_sandbox/mutate         {"modify": n, "add": n, "delete": n} -> the ids touched
POST /_sandbox/faults         {"kind", "count"} injects; {"kind", "rate", "seed"} sets a rate;
                              "path" defaults to "/orders"; {"clear": true} clears all
POST /_sandbox/reset_stats    zero the counters and refill the token bucket
"""

from typing import TYPE_CHECKING

import orjson

from orderdesk_sandbox.api import ApiResponse, error_response

if TYPE_CHECKING:
    from orderdesk_sandbox.sandbox import Sandbox


def handle_admin(sandbox: "Sandbox", method: str, path: str, body: bytes) -> ApiResponse:
    name = path[len("/_sandbox/") :].strip("/")
    try:
        request = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return error_response(400, "the body must be JSON")
    if not isinstance(request, dict):
        return error_response(400, "the body must be a JSON object")
    try:
        if (method, name) == ("GET", "stats"):
            return _json({**sandbox.stats.as_dict(), "orders": len(sandbox.store), "faults": sandbox.faults.describe()})
        if (method, name) == ("GET", "expected_counts"):
            return _json({stream: len(keys) for stream, keys in sandbox.store.expected_keys().items()})
        if (method, name) == ("POST", "mutate"):
            return _json(
                {
                    "modified": sandbox.store.modify(int(request.get("modify", 0))) if request.get("modify") else [],
                    "added": sandbox.store.add(int(request.get("add", 0))),
                    "deleted": sandbox.store.delete(int(request.get("delete", 0))) if request.get("delete") else [],
                }
            )
        if (method, name) == ("POST", "faults"):
            return _json(_configure_faults(sandbox, request))
        if (method, name) == ("POST", "reset_stats"):
            sandbox.stats.reset()
            sandbox.limiter.reset()
            return _json({"status": "success"})
    except (ValueError, TypeError, KeyError) as error:
        return error_response(400, str(error))
    return error_response(404, f"unknown admin endpoint {method} {path}")


def _configure_faults(sandbox: "Sandbox", request: dict) -> dict:
    if request.get("clear"):
        sandbox.faults.clear()
    elif "rate" in request:
        sandbox.faults.set_rate(
            request["kind"], float(request["rate"]), request.get("path", "/orders"), int(request.get("seed", 0))
        )
    else:
        sandbox.faults.inject(request["kind"], int(request.get("count", 1)), request.get("path", "/orders"))
    if "slow_seconds" in request:
        sandbox.faults.slow_seconds = float(request["slow_seconds"])
    return {"status": "success", "faults": sandbox.faults.describe()}


def _json(value: dict) -> ApiResponse:
    return ApiResponse(200, orjson.dumps(value))
