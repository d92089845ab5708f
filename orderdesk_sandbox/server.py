"""HTTP transport: a threaded HTTP/1.1 server with keep-alive in front of OrderDeskApi.

Per request: pick a fault (faults.py), otherwise let the API answer (auth,
token bucket, endpoint), write the answer with an exact Content-Length,
record it in the stats, then run the request hooks. Hooks run on the handler
thread before the connection reads its next request, so a client that reuses
one connection always sees a hook's store changes on its next call.
"""

import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from orderdesk_sandbox.admin import handle_admin
from orderdesk_sandbox.api import ApiResponse, error_response
from orderdesk_sandbox.faults import CONNECTION_FAULTS, fault_response

if TYPE_CHECKING:
    from orderdesk_sandbox.sandbox import Sandbox

API_PREFIX = "/api/v2"
ADMIN_PREFIX = "/_sandbox/"
IDLE_CONNECTION_TIMEOUT_SECONDS = 120  # keep-alive connections idle longer than this are closed

RequestHook = Callable[[str, dict, int], None]


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a client that keeps a connection open must not block shutdown
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: "Sandbox"):
        self.sandbox = sandbox
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def close_open_connections(self) -> None:
        """Wake every handler blocked on a keep-alive read, so that stop() really stops."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "OrderDeskSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out without waiting for ACKs
    timeout = IDLE_CONNECTION_TIMEOUT_SECONDS
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass  # the socket was reset on purpose, or by the client

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        pass  # the stats keep the request log; stderr stays quiet

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # ----------------------------------------------------------------- routing

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._read_body()
        if url.path.startswith(ADMIN_PREFIX):
            self._admin(url.path, body)
        elif url.path == API_PREFIX or url.path.startswith(API_PREFIX + "/"):
            self._api(url.path[len(API_PREFIX) :].rstrip("/") or "/", params)
        else:
            self._send(error_response(404, f"Unknown path {url.path}; the API is under {API_PREFIX}"))

    def _api(self, path: str, params: dict) -> None:
        sandbox = self.server.sandbox
        fault = sandbox.faults.take(path)
        if fault == "slow":
            time.sleep(sandbox.faults.slow_seconds)
        # Stats are recorded before the answer goes out, so that a client that has
        # its answer can already see it counted.
        if fault in CONNECTION_FAULTS:
            sandbox.stats.record(self.command, path, params, 0, fault, False)
            self._abort_connection(reset=fault == "reset")
            status = 0
        else:
            if fault is None or fault == "slow":
                response = sandbox.api.handle(self.command, path, params, self.headers)
            else:
                response = fault_response(
                    fault, lambda: sandbox.api.route(self.command, path, params), sandbox.api.tokens_remaining()
                )
            sandbox.stats.record(self.command, path, params, response.status, fault, response.rate_limited)
            self._send(response)
            status = response.status
        self._run_hooks(sandbox.request_hooks(), path, params, status)

    def _admin(self, path: str, body: bytes) -> None:
        if self.client_address[0] not in ("127.0.0.1", "::1") and not self.client_address[0].startswith("127."):
            self._send(error_response(403, "admin endpoints answer loopback clients only"))
            return
        self._send(handle_admin(self.server.sandbox, self.command, path, body))

    # --------------------------------------------------------------- transport

    def _read_body(self) -> bytes:
        """Read any request body, so a GET with a body does not desynchronise keep-alive."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: ApiResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _abort_connection(self, reset: bool) -> None:
        """Close without answering; with reset, make the kernel send RST instead of FIN."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Python closes the descriptor once rfile is released too, which finish() does
        # before the server's own shutdown(SHUT_WR) could send a FIN.
        self.connection.close()

    def _run_hooks(self, hooks: list[RequestHook], path: str, params: dict, status: int) -> None:
        for hook in hooks:
            try:
                hook(path, dict(params), status)
            except Exception:  # a failing test hook must not take the server down
                self.server.sandbox.hook_errors.append(traceback.format_exc())
                traceback.print_exc(file=sys.stderr)
