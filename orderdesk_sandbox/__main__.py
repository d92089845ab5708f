"""Command line: serve a sandbox until SIGINT/SIGTERM.

    python -m orderdesk_sandbox --orders 5000 --seed 1 --port 0 [--no-rate-limit] [--write-config PATH]

Prints `ORDERDESK_SANDBOX_URL=http://127.0.0.1:PORT/api/v2` first (scripts wait
for that line), then the credentials.
"""

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from orderdesk_sandbox.sandbox import Sandbox
from orderdesk_sandbox.store_data import DEFAULT_API_KEY, DEFAULT_STORE_ID


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m orderdesk_sandbox", description="Serve a fake Order Desk API v2.")
    parser.add_argument("--orders", type=int, default=5000, help="orders to generate (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one (default)")
    parser.add_argument("--store-id", default=DEFAULT_STORE_ID)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--no-rate-limit", action="store_true", help="switch the 20/3-per-second token bucket off")
    parser.add_argument("--shuffle-ties", action="store_true", help="random order among equal sort keys, per request")
    parser.add_argument("--ignore-order-by", action="store_true", help="always sort date_added DESC")
    parser.add_argument("--clock-offset-seconds", type=float, default=0.0, help="shift the server clock")
    parser.add_argument("--write-config", type=Path, metavar="PATH", help="write a ready connector config JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    sandbox = Sandbox.start(
        orders=args.orders,
        seed=args.seed,
        rate_limit=not args.no_rate_limit,
        store_id=args.store_id,
        api_key=args.api_key,
        port=args.port,
        shuffle_ties=args.shuffle_ties,
        ignore_order_by=args.ignore_order_by,
        clock_offset_seconds=args.clock_offset_seconds,
    )
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    print(f"ORDERDESK_SANDBOX_URL={sandbox.url}", flush=True)
    print(f"ORDERDESK_SANDBOX_STORE_ID={sandbox.store_id} ORDERDESK_SANDBOX_API_KEY={sandbox.api_key}", flush=True)
    if args.write_config:
        args.write_config.write_text(json.dumps(sandbox.config(), indent=2) + "\n")
        print(f"ORDERDESK_SANDBOX_CONFIG={args.write_config}", flush=True)
    print(
        f"serving {len(sandbox.store)} orders (seed {args.seed}, ready in {time.perf_counter() - started:.1f}s); "
        f"admin at {sandbox.base_url}/_sandbox/stats; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    # Event.wait with a timeout so that signal handlers get to run promptly.
    while not stop_requested.wait(0.5):
        pass
    sandbox.stop()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
