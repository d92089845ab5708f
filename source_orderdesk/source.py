"""The Order Desk source: its check, its streams, and a read that takes all order tables in one pass."""

from __future__ import annotations

import difflib
import json
import logging
from typing import Any, Iterable, Iterator, List, Mapping, MutableMapping, Optional, Tuple

from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    AirbyteStateType,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalog,
    FailureType,
    Status,
    StreamDescriptor,
    SyncMode,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.http.exceptions import BaseBackoffException
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_message
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .api import CREDENTIALS_HINT, cdk_error_text
from .config import SETTING_TITLES, ConfigError, OrderDeskConfig, in_spec_types, stand_in
from .order_pass import OrderPass, as_traced
from .rate_limit import OrderDeskAPIBudget
from .rows import preview
from .streams import ORDER_TABLES, Folders, InventoryItems, Orders, OrderTable, Store, StoreAnswer

CHECK_MAX_RETRIES = 1
# `GET /test` and `GET /store` are small and quick: a user waiting on "Test connection" should hear of a server
# that hangs within about a minute (two tries), not after the four minutes a sync allows for a page of orders.
CHECK_REQUEST_TIMEOUT = (10, 25)


class SyncFailed(AirbyteTracedException):
    """Raised after every stream ran when some failed; their traces were already emitted."""


class SourceOrderdesk(AbstractSource):
    def read_config(self, config_path: str) -> Mapping[str, Any]:
        config = _load_json_file("config", config_path)
        if not isinstance(config, Mapping):
            raise ConfigError(f"The config file {config_path} must hold a JSON object with store_id and api_key.")
        return config

    # The CDK lets a missing or broken file escape as a traceback; these say what to fix instead.

    def read_catalog(self, catalog_path: str) -> ConfiguredAirbyteCatalog:
        _load_json_file("catalog", catalog_path)
        try:
            return super().read_catalog(catalog_path)
        except Exception as error:
            raise ConfigError(f"The catalog file {catalog_path} is not an Airbyte configured catalog: {error}") from None

    def read_state(self, state_path: str) -> List[AirbyteStateMessage]:
        if not state_path:
            return []
        messages = _as_state_list(_load_json_file("state", state_path), state_path)
        try:
            parsed = [AirbyteStateMessageSerializer.load(message) for message in messages]
        except Exception as error:
            raise ConfigError(f"The state file {state_path} is not Airbyte state ({STATE_FORMAT}): {error}") from None
        for message in parsed:
            if not (message.stream or message.global_ or message.data):  # as the CDK's own reader refuses it
                raise ConfigError(f"The state file {state_path} holds a state message without a stream ({STATE_FORMAT}).")
        return parsed

    # A problem that configure() found in the config, reported by check, discover and read.
    _config_error: Optional[ConfigError] = None

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        """Parses the config before the CDK checks it against spec.yaml, so that every problem gets config.py's message.

        The CDK runs that check right after this method, for check always and for discover and read while
        `check_config_against_spec` is True. It reports a value of the wrong JSON type without naming the setting
        ("Config validation error: 'abc' is not of type 'integer'"), and it would answer first. So a problem found
        here is kept for `check_connection` (a FAILED status) and `streams` (a config_error trace for discover and
        read), and the CDK gets a stand-in config that passes its check. A good config goes on in spec.yaml's types.

        Pasted credentials are trimmed here as well, before the CDK registers the secrets it masks in the output,
        so that the value sent (and possibly logged) is the value masked.
        """
        _warn_of_unknown_settings(config)
        trimmed = dict(config)
        for key in ("store_id", "api_key"):
            if isinstance(trimmed.get(key), str):
                trimmed[key] = trimmed[key].strip()
        try:
            OrderDeskConfig.from_mapping(trimmed)
        except ConfigError as error:
            # A key pasted into another setting would be quoted back as that setting's bad value.
            self._config_error = error.masking(trimmed.get("api_key"), config.get("api_key"))
            return stand_in(trimmed)
        self._config_error = None
        return in_spec_types(trimmed)

    def _parse(self, config: Mapping[str, Any]) -> OrderDeskConfig:
        if self._config_error is not None:
            raise self._config_error
        return OrderDeskConfig.from_mapping(config)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """As the CDK's, but the message is shown as written (the CDK shows a returned message's repr), and with
        the secrets the CDK masks in logs masked here too: a connection status is not a log line."""
        ok, message = self.check_connection(logger, config)
        if ok:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        message = filter_secrets(str(message))
        logger.error(f"Check failed: {message}")
        return AirbyteConnectionStatus(status=Status.FAILED, message=message)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[str]]:
        """Calls `GET /test`, which succeeds only with valid credentials, and `GET /store` if folders are chosen."""
        try:
            parsed = self._parse(config)
        except ConfigError as error:
            return False, error.message
        budget = OrderDeskAPIBudget()
        orders = Orders(parsed, budget, max_retries=CHECK_MAX_RETRIES)  # fail fast: a user is waiting
        orders.request_timeout = CHECK_REQUEST_TIMEOUT
        try:
            body = orders.get_json("test")
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.config_error:
                return False, error.message
            return False, f"Order Desk's connection test at {parsed.api_url} failed: {cdk_error_text(error)}"
        except Exception as error:  # anything else is still the user's connection to fix, not a crash
            return False, f"Could not reach Order Desk at {parsed.api_url}: {error}"
        if str(body.get("status", "")).lower() != "success":
            return False, f"{CREDENTIALS_HINT} (Order Desk said: {body.get('message', 'no message')})"
        if parsed.folder_ids:
            folders = Folders(parsed, budget, max_retries=CHECK_MAX_RETRIES)
            folders.request_timeout = CHECK_REQUEST_TIMEOUT
            return _check_folders(parsed, folders)
        return True, None

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        parsed = self._parse(config)
        budget = OrderDeskAPIBudget()  # one budget for every stream: Order Desk limits the store, not the endpoint
        orders = Orders(parsed, budget)
        store_answer = StoreAnswer()
        return [
            orders,
            *(table(orders) for table in ORDER_TABLES),
            Folders(parsed, budget, answer=store_answer),
            Store(parsed, budget, answer=store_answer),
            InventoryItems(parsed, budget),
        ]

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> Iterator[AirbyteMessage]:
        """Like `AbstractSource.read`, but the order tables are read together in one pass over the API.

        Failures are reported as one clean trace per failed stream (no traceback in the output), and
        the sync then fails as a whole after the other streams ran.
        """
        config, internal_config = split_config(config)
        streams = {stream.name: stream for stream in self.streams(config)}
        self._stream_to_instance_map = streams
        try:
            state_manager = ConnectorStateManager(state=state)
        except Exception as error:  # e.g. a GLOBAL state, which these streams never write
            raise ConfigError(f"The state given to this sync is not usable per-stream Airbyte state: {error}") from None
        failures: MutableMapping[str, AirbyteTracedException] = {}
        catalog = _without_repeated_streams(catalog, logger)
        _warn_of_unread_states(state or [], catalog, logger)

        in_pass = [c for c in catalog.streams if c.stream.name in streams and _reads_orders(streams[c.stream.name])]
        for configured in in_pass:
            if configured.sync_mode == SyncMode.incremental and not streams[configured.stream.name].cursor_field:
                logger.warning(f"{configured.stream.name} has no cursor; it is read as a full refresh.")
                configured.sync_mode = SyncMode.full_refresh
        if in_pass and streams["orders"].config.folder_ids:
            # As check does; here too, since a folder may be deleted in Order Desk after the source was set up.
            # The answer is kept for the folders and store streams of this sync.
            try:
                unknown = _unknown_folders(streams["orders"].config, streams["folders"])
            except Exception as error:
                logger.warning(f"Could not list the store's folders to check the Folder IDs ({cdk_error_text(error)}).")
            else:
                if unknown:
                    raise ConfigError(unknown)
        if in_pass:
            selected = [(c, streams[c.stream.name].plan, streams[c.stream.name].cursor_field) for c in in_pass]
            order_pass = OrderPass(streams["orders"], selected, state_manager, logger)
            yield from order_pass.messages()
            if order_pass.error:
                failures.update({name: order_pass.error for name in order_pass.table_names})

        for configured in catalog.streams:
            if configured in in_pass:
                continue
            reason = _why_no_further_stream_can_be_read(failures.values())
            if reason:
                logger.warning(f"Stream {configured.stream.name} was not read: {reason}")
                yield stream_status_message(configured.stream, AirbyteStreamStatus.INCOMPLETE)
                continue
            stream = streams.get(configured.stream.name)
            if stream is None:
                logger.warning(f"Stream {configured.stream.name} is not offered by this source; refresh the schema.")
                yield stream_status_message(configured.stream, AirbyteStreamStatus.INCOMPLETE)
                continue
            yield stream_status_message(configured.stream, AirbyteStreamStatus.STARTED)
            try:
                yield from self._read_stream(logger, stream, configured, state_manager, internal_config)
            except Exception as error:
                traced = as_traced(error, stream.name)
                logger.error(f"Stream {stream.name} failed: {traced.message}")
                yield stream_status_message(configured.stream, AirbyteStreamStatus.INCOMPLETE)
                yield traced.as_sanitized_airbyte_message(stream_descriptor=StreamDescriptor(name=stream.name))
                failures[stream.name] = traced
                continue
            yield stream_status_message(configured.stream, AirbyteStreamStatus.COMPLETE)

        if failures:
            first = next(iter(failures.values()))
            raise SyncFailed(  # masked here too: not every runner sanitizes the trace of a raised exception
                message=filter_secrets(f"The sync failed for {', '.join(failures)}: {first.message}"),
                internal_message=filter_secrets(str(first.internal_message)),
                failure_type=first.failure_type,
            )


def _why_no_further_stream_can_be_read(failures: Iterable[AirbyteTracedException]) -> Optional[str]:
    """A failure that every further request would repeat: skipping the remaining streams reports it in
    minutes, where retrying each stream's first request for five minutes more would take a quarter of an hour."""
    for failure in failures:
        if failure.failure_type == FailureType.config_error:
            return "the configuration must be fixed first."
        if _never_answered(failure):
            return "Order Desk could not be reached (see the error before this); the next sync reads it."
    return None


def _never_answered(failure: AirbyteTracedException) -> bool:
    """True when the last of a request's retries ended without an HTTP answer (refused, unresolved, reset or
    timed out): the CDK's exhausted-retries trace keeps that backoff exception, with no response. After five
    minutes without one answer the next stream's requests would go the same way; the sync fails either way,
    and the platform's next attempt reads every stream again."""
    cause = getattr(failure, "_exception", None)
    return isinstance(cause, BaseBackoffException) and cause.response is None


def _check_folders(config: OrderDeskConfig, folders: Folders) -> Tuple[bool, Optional[str]]:
    try:
        unknown = _unknown_folders(config, folders)
    except Exception as error:
        return False, f"Could not list the store's folders to check the Folder IDs: {cdk_error_text(error)}"
    return unknown is None, unknown


def _unknown_folders(config: OrderDeskConfig, folders: Folders) -> Optional[str]:
    """What to say of Folder IDs that are not the store's: such a folder filters out every order, and a sync
    would just find none. None if every one is the store's."""
    names = {row["id"]: row.get("name") for row in folders.read_records(sync_mode=SyncMode.full_refresh)}
    unknown = [folder for folder in config.folder_ids if str(folder) not in names]
    if not unknown:
        return None
    listed = ", ".join(f"{folder_id} ({name})" for folder_id, name in names.items()) or "none"
    return (
        f"The Folder IDs (folder_ids) {', '.join(map(str, unknown))} are not folders of this store, whose folders are: "
        f"{listed}. Remove them, or leave the setting empty for all folders."
    )


def _without_repeated_streams(catalog: ConfiguredAirbyteCatalog, logger: logging.Logger) -> ConfiguredAirbyteCatalog:
    """A stream listed twice would be emitted twice, with two sets of states."""
    by_name: dict[str, Any] = {}
    for configured in catalog.streams:
        if configured.stream.name in by_name:
            logger.warning(f"The catalog lists {configured.stream.name} more than once; it is read once, as first listed.")
        by_name.setdefault(configured.stream.name, configured)
    if len(by_name) == len(catalog.streams):
        return catalog
    return ConfiguredAirbyteCatalog(streams=list(by_name.values()))


STATE_FORMAT = (
    'a list of the "state" of each stream\'s last STATE message, e.g. [{"type": "STREAM", "stream": '
    '{"stream_descriptor": {"name": "orders"}, "stream_state": {"date_updated": "2024-01-01T00:00:00Z"}}}]'
)


def _as_state_list(content: Any, path: str) -> list:
    """The state messages of a state file, also when it holds one message or whole STATE messages as a read
    prints them (both unambiguous); the old dict format of state is refused with the format to use."""
    if isinstance(content, list):
        items = content
    elif isinstance(content, dict) and "type" in content:
        items = [content]
    elif content is None or content == {}:
        return []  # no state, as the CDK reads it
    elif isinstance(content, dict):
        raise ConfigError(
            f"The state file {path} is not Airbyte state: it holds a JSON object of streams, the state format "
            f"of older connectors. Airbyte state is {STATE_FORMAT}."
        )
    else:
        raise ConfigError(
            f"The state file {path} is not Airbyte state: it holds {preview(content)}, not a list. Airbyte state is "
            f"{STATE_FORMAT}."
        )
    return [
        item["state"] if isinstance(item, dict) and item.get("type") == "STATE" and "state" in item else item for item in items
    ]


def _warn_of_unread_states(state: List[AirbyteStateMessage], catalog: ConfiguredAirbyteCatalog, logger: logging.Logger) -> None:
    """The CDK passes over these without a word, and the stream then starts at the Start Date. A state of a
    stream that is not selected is no news: the platform passes every stream's."""
    selected = {(c.stream.name, c.stream.namespace) for c in catalog.streams}
    for message in state:
        if message.type == AirbyteStateType.LEGACY:
            logger.warning("The state holds LEGACY state (the format of older connectors), which is not read.")
        elif message.stream is not None:
            name, namespace = message.stream.stream_descriptor.name, message.stream.stream_descriptor.namespace
            if (name, namespace) not in selected and name in {selected_name for selected_name, _ in selected}:
                logger.warning(
                    f"The state of {name} is for namespace {namespace!r}, which the catalog's {name} is not in: it is not read."
                )


def _load_json_file(kind: str, path: str) -> Any:
    try:
        with open(path, encoding="utf-8-sig") as file:  # a BOM, as Windows editors write, is fine
            return json.load(file)
    except FileNotFoundError:
        raise ConfigError(f"The {kind} file {path} does not exist.") from None
    except OSError as error:
        raise ConfigError(f"The {kind} file {path} could not be read: {error.strerror or error}.") from None
    except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
        output = kind == "state" and "Extra data" in str(error)  # JSON lines, as a read prints them
        hint = f" (A read's output is not a state file: that is {STATE_FORMAT}.)" if output else ""
        raise ConfigError(f"The {kind} file {path} is not valid JSON: {error}.{hint}") from None
    except RecursionError:
        raise ConfigError(f"The {kind} file {path} nests its JSON too deeply to be an Airbyte {kind}.") from None


def _warn_of_unknown_settings(config: Mapping[str, Any]) -> None:
    """A misspelt setting ("stat_date") would otherwise be ignored without a word. Keys starting with "_" are
    the CDK's own test settings (`_limit`, `_page_size`)."""
    for key in config:
        if key in SETTING_TITLES or key.startswith("_"):
            continue
        close = difflib.get_close_matches(key, SETTING_TITLES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        logging.getLogger("airbyte").warning(
            f"The config has a setting {key!r} that this connector does not know; it is ignored.{hint}"
        )


def _reads_orders(stream: Stream) -> bool:
    return isinstance(stream, (Orders, OrderTable))
