"""Runs the connector in-process through the CDK's entrypoint, the way the platform would."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.models import AirbyteMessageSerializer, AirbyteStateMessage, ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, _run_command, discover, read
from airbyte_cdk.test.models.scenario import ExpectedOutcome

from source_orderdesk import SourceOrderdesk

CHILD_STREAMS = (
    "order_checkout_data",
    "order_metadata",
    "order_discount_list",
    "order_notes",
    "order_items",
    "order_items_variation_list",
    "order_shipments",
)
ORDER_STREAMS = ("orders", *CHILD_STREAMS)


def catalog(*names: str, sync_mode: SyncMode = SyncMode.incremental) -> ConfiguredAirbyteCatalog:
    builder = CatalogBuilder()
    for name in names or ORDER_STREAMS:
        builder.with_stream(name, sync_mode)
    return builder.build()


def _outcome(expecting_exception: bool) -> ExpectedOutcome:
    return ExpectedOutcome.EXPECT_EXCEPTION if expecting_exception else ExpectedOutcome.EXPECT_SUCCESS


def read_source(
    config: Mapping[str, Any],
    configured_catalog: Optional[ConfiguredAirbyteCatalog] = None,
    state: Optional[List[AirbyteStateMessage]] = None,
    expecting_exception: bool = False,
    debug: bool = False,
) -> EntrypointOutput:
    return read(
        SourceOrderdesk(),
        config,
        configured_catalog or catalog("orders"),
        state,
        expected_outcome=_outcome(expecting_exception),
        debug=debug,
    )


def check_source(config: Mapping[str, Any], expecting_exception: bool = False, debug: bool = False) -> EntrypointOutput:
    with tempfile.TemporaryDirectory() as directory:
        config_file = Path(directory) / "config.json"
        config_file.write_text(json.dumps(config))
        args = ["check", "--config", str(config_file)] + (["--debug"] if debug else [])
        return _run_command(SourceOrderdesk(), args, expected_outcome=_outcome(expecting_exception))


def discover_source(config: Mapping[str, Any], expecting_exception: bool = False) -> EntrypointOutput:
    return discover(SourceOrderdesk(), config, expected_outcome=_outcome(expecting_exception))


def warnings_of(output: EntrypointOutput) -> List[str]:
    """The messages of the WARN log lines."""
    return [log.log.message for log in output.logs if log.log.level.value == "WARN"]


def records_of(output: EntrypointOutput, stream: str) -> List[Dict[str, Any]]:
    return [message.record.data for message in output.records if message.record.stream == stream]


def states_of(output: EntrypointOutput, stream: str) -> List[Dict[str, Any]]:
    return [
        message.state.stream.stream_state.__dict__
        for message in output.state_messages
        if message.state.stream.stream_descriptor.name == stream
    ]


def connection_status(output: EntrypointOutput) -> Any:
    statuses = [message.connectionStatus for message in output.connection_status_messages]
    assert len(statuses) == 1, f"expected one CONNECTION_STATUS, got {statuses} (errors: {output.errors})"
    return statuses[0]


def every_message_text(output: EntrypointOutput) -> str:
    """All messages the connector emitted, serialized as the platform would receive them."""
    return "\n".join(json.dumps(AirbyteMessageSerializer.dump(message)) for message in output.get_message_iterator())
