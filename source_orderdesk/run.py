import gc
import sys
from contextlib import contextmanager
from typing import DefaultDict, Iterator

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER
from airbyte_cdk.models import AirbyteMessage, AirbyteStateStats, Type
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .source import SourceOrderdesk, SyncFailed


def run() -> None:
    # The ~100,000 objects that importing the CDK leaves are never freed, yet every full garbage collection
    # would walk them again while a sync allocates millions of short-lived rows; set apart from the collector,
    # they cost a sync about 15% less CPU (bench/RESULTS.md, figure 3).
    gc.freeze()
    try:
        with fast_record_output():
            launch(SourceOrderdesk(), sys.argv[1:])
    except SyncFailed:
        sys.exit(1)  # each failed stream's trace is already out
    except AirbyteTracedException as error:
        # An expected failure (bad config, an API that stays down): one clean trace, no traceback.
        message = error.as_sanitized_airbyte_message()
        message.trace.error.stack_trace = None
        print(AirbyteEntrypoint.airbyte_message_to_string(message), flush=True)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C at a terminal: the states already printed are where to resume
        sys.stderr.write("Interrupted; a read resumes from the last STATE it printed.\n")
        sys.exit(130)


_cdk_message_to_string = AirbyteEntrypoint.airbyte_message_to_string
_cdk_record_counts = AirbyteEntrypoint.handle_record_counts


def launch(source: SourceOrderdesk, args: list[str]) -> None:
    """`airbyte_cdk.entrypoint.launch`, but with one write per message: its `print(..., end="")` makes two, each
    taking the output buffer's lock."""
    entrypoint = AirbyteEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    if not parsed_args.command:  # the CDK would raise "No command passed" with a traceback
        sys.stderr.write("usage: source-orderdesk {spec,check,discover,read} [--config ...] (see --help)\n")
        sys.exit(2)
    with PRINT_BUFFER:  # the CDK's logs go through it too, in order with the messages
        for message in entrypoint.run(parsed_args):
            sys.stdout.write(f"{message}\n")


@contextmanager
def fast_record_output() -> Iterator[None]:
    """The CDK entrypoint's per-record work, done cheaper while the connector runs.

    A sync writes about ten RECORD messages per order, and the entrypoint spends more CPU on each than the
    connector spends building it: a generic serializer (serpyco) and a new stream descriptor per record to
    count it (bench/RESULTS.md, figure 3). Its `run` calls both by the class's name, so a subclass cannot
    replace them; they are swapped here for the process's lifetime instead. Every other message still goes
    through the CDK's own code.
    """
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(message_to_string)
    AirbyteEntrypoint.handle_record_counts = staticmethod(count_records)
    try:
        yield
    finally:
        AirbyteEntrypoint.airbyte_message_to_string = staticmethod(_cdk_message_to_string)
        AirbyteEntrypoint.handle_record_counts = staticmethod(_cdk_record_counts)


def message_to_string(message: AirbyteMessage) -> str:
    """A plain record (no namespace, meta or file reference) written by orjson; anything else by the CDK.

    The line is the CDK's, except that a null field is written out: the CDK's serializer leaves a record's
    top-level null fields out, which destinations read the same way (a missing field is null).
    """
    record = message.record
    plain = record is not None and record.namespace is None and record.meta is None and record.file_reference is None
    if message.type == Type.RECORD and plain:
        body = {"type": "RECORD", "record": {"stream": record.stream, "data": record.data, "emitted_at": record.emitted_at}}
        try:
            return orjson.dumps(body).decode()
        except TypeError:
            pass  # a value orjson cannot write: the CDK's path has a fallback for it
    return _cdk_message_to_string(message)


def count_records(message: AirbyteMessage, counts: DefaultDict) -> AirbyteMessage:
    """The CDK's record counts (each STATE message's `sourceStats.recordCount`: the stream's records since its
    previous STATE), keyed by (name, namespace) rather than by a descriptor built for every record."""
    if message.type == Type.RECORD and message.record is not None:
        counts[(message.record.stream, message.record.namespace)] += 1.0
        return message
    if message.type == Type.STATE and message.state is not None and message.state.stream is not None:
        descriptor = message.state.stream.stream_descriptor
        key = (descriptor.name, descriptor.namespace)
        message.state.sourceStats = message.state.sourceStats or AirbyteStateStats()
        message.state.sourceStats.recordCount = counts.get(key, 0.0)
        counts[key] = 0.0
        return message
    return _cdk_record_counts(message, counts)
