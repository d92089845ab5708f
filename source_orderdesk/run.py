import sys

from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .source import SourceOrderdesk, SyncFailed


def run() -> None:
    try:
        launch(SourceOrderdesk(), sys.argv[1:])
    except SyncFailed:
        sys.exit(1)  # each failed stream's trace is already out
    except AirbyteTracedException as error:
        # An expected failure (bad config, an API that stays down): one clean trace, no traceback.
        message = error.as_sanitized_airbyte_message()
        message.trace.error.stack_trace = None
        print(AirbyteEntrypoint.airbyte_message_to_string(message), flush=True)
        sys.exit(1)
