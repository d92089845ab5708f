from __future__ import annotations

import errno
import gc
import os
import sys
import threading
from contextlib import contextmanager
from typing import BinaryIO, DefaultDict, Iterator

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
    except BrokenPipeError:  # the reader of stdout is gone (`| head`): stop quietly, as command-line tools do
        # Python flushes stdout once more at exit, and would complain of the closed pipe on stderr.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


_cdk_message_to_string = AirbyteEntrypoint.airbyte_message_to_string
_cdk_record_counts = AirbyteEntrypoint.handle_record_counts


def launch(source: SourceOrderdesk, args: list[str]) -> None:
    """`airbyte_cdk.entrypoint.launch`, writing through `StdoutBuffer` instead of the CDK's print buffer."""
    entrypoint = AirbyteEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    if not parsed_args.command:  # the CDK would raise "No command passed" with a traceback
        sys.stderr.write("usage: source-orderdesk {spec,check,discover,read} [--config ...] (see --help)\n")
        sys.exit(2)
    with StdoutBuffer(sys.stdout.buffer) as out:
        for message in entrypoint.run(parsed_args):
            if type(message) is bytes:  # a record line, from message_to_output
                out.write_record(message)
            else:
                out.write(f"{message}\n")


class StdoutBuffer:
    """The CDK's PRINT_BUFFER (`airbyte_cdk.logger`), for the price of a list append per record.

    PRINT_BUFFER takes a lock, a StringIO write and a clock read for each message, and then encodes all of
    its text for stdout: about a tenth of a sync's CPU, where records arrive as orjson's bytes already. Here
    records are sent in chunks of 64 KiB as bytes, and any text (logs, other messages, prints) is sent at
    once, after what is pending, so the output keeps the order it was written in. The CDK's log handler
    writes to PRINT_BUFFER itself, so its write and flush lead here while the buffer is in use.
    """

    CHUNK_BYTES = 1 << 16

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._lock = threading.RLock()  # as PRINT_BUFFER's: a library may log from another thread
        self._closed = False  # the reader closed stdout

    def write_record(self, line: bytes) -> None:
        with self._lock:
            self._pending.append(line)
            self._pending_bytes += len(line)
            if self._pending_bytes >= self.CHUNK_BYTES:
                self.flush()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending.append(text.encode("utf-8", "backslashreplace"))
            self.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._closed:  # nothing more can be sent: each write says so, until the sync has stopped
                self._pending.clear()
                raise BrokenPipeError(errno.EPIPE, "stdout is closed")
            try:
                if self._pending:
                    self._stream.write(b"".join(self._pending))
                    self._pending.clear()
                    self._pending_bytes = 0
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True
                self._pending.clear()
                raise

    def __enter__(self) -> StdoutBuffer:
        sys.stdout.flush()
        self._saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self  # type: ignore[assignment]  # as PRINT_BUFFER does
        PRINT_BUFFER.write, PRINT_BUFFER.flush = self.write, self.flush  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.flush()
        finally:
            sys.stdout, sys.stderr = self._saved
            if not self._closed:  # else the CDK's buffer would write to the closed pipe, and fail, at exit
                del PRINT_BUFFER.write, PRINT_BUFFER.flush  # the class's methods again


@contextmanager
def fast_record_output() -> Iterator[None]:
    """The CDK entrypoint's per-record work, done cheaper while the connector runs.

    A sync writes about ten RECORD messages per order, and the entrypoint spends more CPU on each than the
    connector spends building it: a generic serializer (serpyco) and a new stream descriptor per record to
    count it (bench/RESULTS.md, figure 3). Its `run` calls both by the class's name, so a subclass cannot
    replace them; they are swapped here for the process's lifetime instead. Every other message still goes
    through the CDK's own code.
    """
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(message_to_output)
    AirbyteEntrypoint.handle_record_counts = staticmethod(count_records)
    try:
        yield
    finally:
        AirbyteEntrypoint.airbyte_message_to_string = staticmethod(_cdk_message_to_string)
        AirbyteEntrypoint.handle_record_counts = staticmethod(_cdk_record_counts)


def message_to_output(message: AirbyteMessage) -> bytes | str:
    """A plain record (no namespace, meta or file reference) as orjson's bytes, newline included; anything
    else as the CDK's line.

    The record line is the CDK's, except that a null field is written out: the CDK's serializer leaves a
    record's top-level null fields out, which destinations read the same way (a missing field is null).
    """
    record = message.record
    plain = record is not None and record.namespace is None and record.meta is None and record.file_reference is None
    if message.type == Type.RECORD and plain:
        body = {"type": "RECORD", "record": {"stream": record.stream, "data": record.data, "emitted_at": record.emitted_at}}
        try:
            return orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)
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
