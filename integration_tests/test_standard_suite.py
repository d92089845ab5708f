"""Airbyte's standard source tests (airbyte-cdk's `SourceTestSuiteBase`), run in-process against a
live local Order Desk sandbox over loopback: no HTTP mocks.

The scenarios come from `acceptance-test-config.yml`, whose config files name the fixed URL where
`python -m orderdesk_sandbox --port 18471` serves. Here the sandbox runs on a free port instead, so
the connector under test is a subclass whose `configure()` (the CDK's hook for changing an input
config) swaps in the live sandbox's URL. Everything else, including the rate limit, is real.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Mapping

import jsonschema
import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, ConnectorSpecification, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover, read
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from orderdesk_sandbox import Sandbox
from orderdesk_sandbox.tables import ORDER_TABLES
from source_orderdesk import SourceOrderdesk

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = ROOT / "integration_tests" / "sample_config.json"
CONFIGURED_CATALOG = ROOT / "integration_tests" / "configured_catalog.json"
SANDBOX_ORDERS = 300
SANDBOX_SEED = 7
# The streams configured_catalog.json selects: the incremental order tables, then the full-refresh streams.
FULL_REFRESH_STREAMS = ("order_ids", "folders", "store", "inventory_items")


class SandboxedSourceOrderdesk(SourceOrderdesk):
    """The real connector, pointed at a live sandbox whatever `api_url` its config file names."""

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self._api_url = api_url

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        return super().configure({**config, "api_url": self._api_url}, temp_dir)

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        # The CDK loads spec.yaml from the package of the connector's class, which is this test module.
        return SourceOrderdesk().spec(logger)


@pytest.fixture(scope="session")
def sandbox():
    """One Order Desk sandbox for this module: rate limit on, a few hundred orders, fixed seed."""
    server = Sandbox.start(orders=SANDBOX_ORDERS, seed=SANDBOX_SEED, rate_limit=True, port=0)
    try:
        yield server
    finally:
        server.stop()


class TestOrderDeskStandardSuite(SourceTestSuiteBase):
    # The repository directory is `main`, so the suite cannot derive `source_orderdesk.SourceOrderdesk`
    # from it; name the class under test, and build it (pointed at the sandbox) in `create_connector`.
    connector = SourceOrderdesk
    sandbox_url: ClassVar[str | None] = None

    @pytest.fixture(autouse=True)
    def _connector_talks_to_the_sandbox(self, sandbox, monkeypatch):
        monkeypatch.setattr(type(self), "sandbox_url", sandbox.url)

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourceOrderdesk:
        if cls.sandbox_url is None:
            raise RuntimeError("the sandbox fixture did not run; the connector would call the fixed URL of the config files")
        return SandboxedSourceOrderdesk(cls.sandbox_url)


# Checks the standard suite leaves out for this layout.


def _sample_config() -> dict[str, Any]:
    return json.loads(SAMPLE_CONFIG.read_text())


def test_sample_config_matches_the_spec():
    """`test_config_matches_spec` has no scenario (the `spec` entry lists only `spec_path`; see
    acceptance-test-config.yml), so the sample and invalid configs are validated here."""
    spec = SourceOrderdesk().spec(logging.getLogger("airbyte")).connectionSpecification
    for name in ("sample_config.json", "invalid_config.json"):
        config = json.loads((ROOT / "integration_tests" / name).read_text())
        jsonschema.Draft7Validator(spec).validate(config)


def test_configured_catalog_is_what_discover_reports(sandbox):
    output = discover(SandboxedSourceOrderdesk(sandbox.url), _sample_config())
    assert not output.errors, output.errors
    discovered = {stream.name: stream for stream in output.catalog.catalog.streams}
    configured = json.loads(CONFIGURED_CATALOG.read_text())["streams"]

    names = [entry["stream"]["name"] for entry in configured]
    assert set(names) == set(discovered), "the catalog must select every stream discover offers"
    in_discover_order = [name for name in discovered if name in ORDER_TABLES]
    assert names[: len(ORDER_TABLES)] == in_discover_order, "the catalog must list the order tables in discover's order"
    for entry in configured:
        stream = discovered[entry["stream"]["name"]]
        if entry["stream"]["name"] in FULL_REFRESH_STREAMS:
            assert stream.supported_sync_modes == [SyncMode.full_refresh], stream.name
            assert entry["sync_mode"] == "full_refresh" and entry["destination_sync_mode"] == "overwrite", stream.name
            assert entry["primary_key"] == stream.source_defined_primary_key, stream.name
            continue
        assert entry["sync_mode"] == "incremental" and SyncMode.incremental in stream.supported_sync_modes
        assert entry["destination_sync_mode"] == "append_dedup"
        assert entry["cursor_field"] == stream.default_cursor_field, stream.name
        assert entry["primary_key"] == stream.source_defined_primary_key, stream.name
        assert entry["stream"]["source_defined_cursor"] is True
        assert entry["stream"]["default_cursor_field"] == stream.default_cursor_field
        assert entry["stream"]["source_defined_primary_key"] == stream.source_defined_primary_key
        properties = stream.json_schema["properties"]
        assert all(field in properties for field in stream.default_cursor_field), stream.name
        assert all(key[0] in properties for key in stream.source_defined_primary_key), stream.name


def test_reads_go_to_the_live_sandbox_and_every_row_arrives(sandbox):
    """The connector under test really talks to the sandbox (not to the fixed URL, not to a mock),
    stays under its rate limit, and emits exactly the rows the sandbox's payloads hold."""
    before = sandbox.stats.requests_by_path["/orders"]
    catalog = ConfiguredAirbyteCatalogSerializer.load(json.loads(CONFIGURED_CATALOG.read_text()))
    primary_keys = {entry.stream.name: [key[0] for key in entry.primary_key] for entry in catalog.streams}
    output = read(SandboxedSourceOrderdesk(sandbox.url), _sample_config(), catalog)
    assert not output.errors, output.errors
    assert sandbox.stats.requests_by_path["/orders"] > before
    assert sandbox.stats.rate_limited == 0

    emitted: dict[str, list[tuple]] = {name: [] for name in primary_keys}
    for message in output.records:
        record = message.record
        emitted[record.stream].append(tuple(record.data[field] for field in primary_keys[record.stream]))
    expected = sandbox.store.expected_keys()
    expected["order_ids"] = expected["orders"]
    expected["store"] = {(sandbox.store.profile.store_id,)}
    for name, keys in emitted.items():
        assert keys, f"{name} emitted no record"
        assert len(keys) == len(set(keys)), f"{name} emitted a primary key twice in one full read"
        assert set(keys) == expected[name], name
