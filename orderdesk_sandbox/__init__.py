"""Local Order Desk API v2 sandbox: a deterministic fake store behind a real HTTP server.

Used by the connector's tests, benchmark and demo; not installed with the connector
(run from the repository root). See README.md in this folder.
"""

from orderdesk_sandbox.sandbox import Sandbox
from orderdesk_sandbox.store import Store, StoreProfile
from orderdesk_sandbox.store_data import generate_store

__all__ = ["Sandbox", "Store", "StoreProfile", "generate_store"]
