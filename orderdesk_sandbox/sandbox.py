"""`Sandbox`: a running fake Order Desk API for tests, benchmarks and the demo.

with Sandbox.start(orders=2000, seed=7) as sb:
    config = sb.config()          # ready connector config pointing at sb.url
    sb.faults.inject("502", count=2)
    sb.on_request(lambda path, params, status: ...)
"""

import random
import threading
from datetime import datetime
from types import TracebackType

from orderdesk_sandbox.api import OrderDeskApi
from orderdesk_sandbox.faults import Faults
from orderdesk_sandbox.rate_limit import DEFAULT_CAPACITY, DEFAULT_REFILL_PER_SECOND, RateLimiter
from orderdesk_sandbox.server import API_PREFIX, RequestHook, SandboxHTTPServer
from orderdesk_sandbox.stats import Stats
from orderdesk_sandbox.store import Store
from orderdesk_sandbox.store_data import DEFAULT_API_KEY, generate_store

DEFAULT_START_DATE = "2015-01-01"


class Sandbox:
    """A store served over HTTP on 127.0.0.1 from a background thread."""

    def __init__(
        self,
        store: Store,
        *,
        store_id: str,
        api_key: str,
        rate_limit: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        shuffle_ties: bool = False,
        ignore_order_by: bool = False,
        tie_seed: int = 0,
        slow_seconds: float = 2.0,
        rate_capacity: float = DEFAULT_CAPACITY,
        rate_refill_per_second: float = DEFAULT_REFILL_PER_SECOND,
    ):
        self.store = store
        self.store_id = store_id
        self.api_key = api_key
        self.stats = Stats()
        self.faults = Faults(slow_seconds)
        self.limiter = RateLimiter(rate_limit, rate_capacity, rate_refill_per_second)
        self.api = OrderDeskApi(
            store, store_id, api_key, self.limiter, shuffle_ties=shuffle_ties, ignore_order_by=ignore_order_by, tie_seed=tie_seed
        )
        self.hook_errors: list[str] = []  # tracebacks of request hooks that raised
        self._hooks: list[RequestHook] = []
        self._mutation_hook: RequestHook | None = None
        self._hooks_lock = threading.Lock()
        self._server = SandboxHTTPServer((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self.url = self.base_url + API_PREFIX
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="orderdesk-sandbox", daemon=True
        )
        self._stopped = False

    @classmethod
    def start(
        cls,
        orders: int = 1000,
        seed: int = 1,
        *,
        rate_limit: bool = True,
        store_id: str | None = None,
        api_key: str = DEFAULT_API_KEY,
        port: int = 0,
        host: str = "127.0.0.1",
        shuffle_ties: bool = False,
        ignore_order_by: bool = False,
        clock_offset_seconds: float = 0.0,
        anchor: datetime | None = None,
        store: Store | None = None,
        tie_seed: int = 0,
        slow_seconds: float = 2.0,
        rate_capacity: float = DEFAULT_CAPACITY,
        rate_refill_per_second: float = DEFAULT_REFILL_PER_SECOND,
    ) -> "Sandbox":
        """Generate a store (or serve `store`) and start answering on host:port (0 = any free port).

        store_id defaults to the store's own id ("4471" for a generated store).
        The generated history ends 10 minutes before `anchor`, which defaults
        to the server's now (the real clock plus clock_offset_seconds).
        """
        if store is None:
            store = generate_store(
                orders,
                seed,
                anchor,
                store_id=store_id or "4471",
                api_key=api_key,
                clock_offset_seconds=clock_offset_seconds,
            )
        else:
            store.clock_offset_seconds = clock_offset_seconds
        sandbox = cls(
            store,
            store_id=store_id or store.profile.store_id,
            api_key=api_key,
            rate_limit=rate_limit,
            host=host,
            port=port,
            shuffle_ties=shuffle_ties,
            ignore_order_by=ignore_order_by,
            tie_seed=tie_seed,
            slow_seconds=slow_seconds,
            rate_capacity=rate_capacity,
            rate_refill_per_second=rate_refill_per_second,
        )
        sandbox._thread.start()
        return sandbox

    def config(self, **overrides: object) -> dict:
        """A ready connector config for this sandbox, with `overrides` merged in."""
        return {
            "store_id": self.store_id,
            "api_key": self.api_key,
            "api_url": self.url,
            "start_date": DEFAULT_START_DATE,
            **overrides,
        }

    # ------------------------------------------------------------------ hooks

    def on_request(self, callback: RequestHook) -> None:
        """Call `callback(path, params, status)` after each API request is answered.

        Runs on the server thread before that connection reads its next request;
        status is 0 for a dropped or reset connection. Exceptions are printed and
        kept in `hook_errors`.
        """
        with self._hooks_lock:
            self._hooks.append(callback)

    def clear_request_hooks(self) -> None:
        """Remove every on_request hook and stop mutate_during_requests."""
        with self._hooks_lock:
            self._hooks.clear()
            self._mutation_hook = None

    def request_hooks(self) -> list[RequestHook]:
        with self._hooks_lock:
            hooks = list(self._hooks)
            if self._mutation_hook is not None:
                hooks.append(self._mutation_hook)
            return hooks

    def mutate_during_requests(
        self, modify: int = 0, add: int = 0, delete: int = 0, path: str = "/orders", seed: int = 0
    ) -> None:
        """After each successful (HTTP 200) request to `path`, modify/add/delete that many random orders.

        All zero switches it off. The picks are seeded, so a run is reproducible
        for a client that sends the same requests.
        """
        if not (modify or add or delete):
            with self._hooks_lock:
                self._mutation_hook = None
            return
        rng = random.Random(seed)

        def mutate(request_path: str, params: dict, status: int) -> None:
            if request_path != path or status != 200:
                return
            if modify:
                self.store.modify(modify, rng_seed=rng.randrange(2**32))
            if add:
                self.store.add(add)
            if delete:
                self.store.delete(delete, rng_seed=rng.randrange(2**32))

        with self._hooks_lock:
            self._mutation_hook = mutate

    # -------------------------------------------------------------- lifecycle

    def stop(self) -> None:
        """Stop serving, close client connections and free the port. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} orders={len(self.store)}>"
