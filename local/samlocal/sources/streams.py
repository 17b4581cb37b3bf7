"""DynamoDB stream event source mapping.

Rules followed (see docs/local-stack.md for the AWS pages):
- records of a shard are delivered in order, in batches of up to BatchSize, starting at
  StartingPosition (TRIM_HORIZON or LATEST);
- with ParallelizationFactor N, up to N batches of a shard are handled at once, and Lambda
  "still ensures in-order processing at the item (partition and sort key) level" (with-ddb).
  Each record goes to one of N batch processors by its partition key, which keeps that order
  and more: one partition key's records are always handled by the same processor, one batch
  after another, in stream order. Every rule below holds per processor: a failing batch holds
  up the keys of its processor, never those of the others;
- with ReportBatchItemFailures, a batch is checkpointed up to the first reported
  sequence number and retried from it; a failed invocation retries the whole batch;
- with BisectBatchOnFunctionError, a failing batch is split in two and each half retried;
- after MaximumRetryAttempts retries, or once a record is older than
  MaximumRecordAgeInSeconds (-1: no limit for either), the batch's pointer goes to the
  on-failure destination and the shard moves on.
"""

import json
import threading
import time
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from samlocal.runtime.invocation import Invocation, Runner
from samlocal.sources import Declared, Trigger
from samlocal.sources.destinations import stream_failure_record
from samlocal.sources.pacing import Pacing
from samlocal.template import FunctionSpec, StreamSource, only_properties

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack

_RETRY_BACKOFF_SECONDS = (1, 2, 4, 8, 16, 32, 60)
# How long the reader waits for new records, or for a batch to end, before it looks again.
_IDLE_POLL_SECONDS = 0.1


def _first_failure(invocation: Invocation, batch: list[Mapping[str, Any]], report_item_failures: bool) -> int | None:
    """Index of the first record to retry, or None if the whole batch is done."""
    if not invocation.ok:
        return 0
    if not report_item_failures:
        return None
    response = invocation.payload
    if not response:
        return None
    if not isinstance(response, Mapping) or not isinstance(response.get("batchItemFailures", []), list):
        return 0
    sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
    failed = []
    for item in response.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if identifier not in sequence_numbers:
            return 0
        failed.append(sequence_numbers.index(identifier))
    return min(failed) if failed else None


def _created_at(record: Mapping[str, Any]) -> float:
    created = record["dynamodb"].get("ApproximateCreationDateTime", 0)
    return created.timestamp() if isinstance(created, datetime) else float(created)


def _partition_key(record: Mapping[str, Any], key_names: Sequence[str]) -> str:
    """The record's partition key (its item's HASH attribute), as text. A record's `Keys` also
    hold the sort key, which must not split one partition key's records apart."""
    keys: Mapping[str, Any] = record["dynamodb"].get("Keys", {})
    chosen = {name: keys[name] for name in key_names if name in keys} or keys
    return json.dumps(chosen, sort_keys=True, default=str)


def processor_index(record: Mapping[str, Any], key_names: Sequence[str], factor: int) -> int:
    """Which of a shard's `factor` batch processors handles `record`: always the same one for
    one partition key (a stable hash, so a run is repeatable)."""
    if factor == 1:
        return 0
    return zlib.crc32(_partition_key(record, key_names).encode()) % factor


def _sequence_number(record: Mapping[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


@dataclass
class _Processor:
    """One of a shard's concurrent batch processors: its keys' records not yet in a batch, in
    stream order, and whether it is handling a batch (with its retries) right now."""

    buffer: list[Mapping[str, Any]] = field(default_factory=list)
    # A batch is cut once full, or once MaximumBatchingWindowInSeconds has passed since the
    # later of these: the oldest buffered record's arrival, and the end of the last batch.
    oldest_arrival: float = 0.0
    last_batch_ended: float = 0.0
    # Set by the reader when it hands the processor a batch, cleared by the processor's thread
    # once the batch reached its end state (done, or sent to the on-failure destination).
    busy: bool = False
    thread: threading.Thread | None = None

    def take(self, record: Mapping[str, Any], arrived: float) -> None:
        if not self.buffer:
            self.oldest_arrival = arrived
        self.buffer.append(record)


@dataclass
class _Shard:
    shard_id: str
    iterator: str
    processors: list[_Processor]


class StreamPoller:
    def __init__(
        self,
        runner: Runner,
        function: FunctionSpec,
        source: StreamSource,
        *,
        stream_arn: str,
        streams: Any,
        sqs: Any,
        destination_url: str | None,
        pacing: Pacing,
    ) -> None:
        self.function = function
        self.source = source
        self.stream_arn = stream_arn
        self._runner = runner
        self._streams = streams
        self._sqs = sqs
        self._destination_url = destination_url
        self._pacing = pacing
        self._shards: list[_Shard] = []
        self._key_names: list[str] = []
        self._caught_up = False
        # Set when a processor ends a batch, so the reader cuts that processor's next one at once.
        self._batch_ended = threading.Event()
        self._lock = threading.Lock()
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name=f"stream-{function.logical_id}", daemon=True)

    @property
    def busy(self) -> bool:
        return not self._caught_up or any(processor.busy for processor in self._processors())

    def _processors(self) -> list[_Processor]:
        return [processor for shard in list(self._shards) for processor in list(shard.processors)]

    @property
    def _factor(self) -> int:
        return max(1, self.source.parallelization_factor)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._thread.join(timeout)
        for processor in self._processors():
            if processor.thread is not None:
                processor.thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        self._key_names = [key["AttributeName"] for key in description.get("KeySchema", []) if key["KeyType"] == "HASH"]
        self._shards = [
            _Shard(
                shard["ShardId"],
                self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType=self.source.starting_position,
                )["ShardIterator"],
                [_Processor() for _ in range(self._factor)],
            )
            for shard in description["Shards"]
        ]
        while not self._pacing.stopping.is_set():
            fetched = 0
            for shard in self._shards:
                try:
                    response = self._streams.get_records(ShardIterator=shard.iterator, Limit=1000)
                except Exception:  # the emulator going away at shutdown
                    if self._pacing.stopping.wait(0.5):
                        return
                    continue
                shard.iterator = response.get("NextShardIterator", shard.iterator)
                records = response.get("Records", [])
                fetched += len(records)
                arrived = time.monotonic()
                for record in records:
                    index = processor_index(record, self._key_names, len(shard.processors))
                    shard.processors[index].take(record, arrived)
            self._caught_up = fetched == 0 and not any(processor.buffer for processor in self._processors())
            for shard in self._shards:
                self._dispatch(shard)
            if fetched == 0:
                self._batch_ended.wait(_IDLE_POLL_SECONDS)
                self._batch_ended.clear()

    def _dispatch(self, shard: _Shard) -> None:
        """Hands each idle processor its next batch, once full or once its window is over."""
        factor = self._factor
        if len(shard.processors) != factor:
            # ParallelizationFactor changed (a saved template, applied live): keys move between
            # processors only once none is handling a batch, so no record overtakes an earlier one.
            if any(processor.busy for processor in shard.processors):
                return
            self._repartition(shard, factor)
        for index, processor in enumerate(shard.processors):
            if processor.busy or not processor.buffer or self._pacing.stopping.is_set():
                continue
            waited = time.monotonic() - max(processor.oldest_arrival, processor.last_batch_ended)
            if len(processor.buffer) < self.source.batch_size and waited < self.source.batching_window_seconds:
                continue
            batch = processor.buffer[: self.source.batch_size]
            del processor.buffer[: len(batch)]
            processor.busy = True
            processor.thread = threading.Thread(
                target=self._handle,
                args=(shard.shard_id, processor, batch),
                name=f"stream-{self.function.logical_id}-{shard.shard_id[-8:]}-{index}",
                daemon=True,
            )
            processor.thread.start()

    def _repartition(self, shard: _Shard, factor: int) -> None:
        """`factor` processors for the shard, its waiting records spread over them by key, in stream order."""
        waiting = sorted((record for p in shard.processors for record in p.buffer), key=_sequence_number)
        arrived = min((p.oldest_arrival for p in shard.processors if p.buffer), default=0.0)
        ended = max(p.last_batch_ended for p in shard.processors)
        shard.processors = [_Processor(last_batch_ended=ended) for _ in range(factor)]
        for record in waiting:
            shard.processors[processor_index(record, self._key_names, factor)].take(record, arrived)

    def _handle(self, shard_id: str, processor: _Processor, batch: list[Mapping[str, Any]]) -> None:
        """A processor's thread: one batch, with its retries, to its end state."""
        try:
            self._deliver(shard_id, batch)
        except Exception:
            if self._pacing.stopping.is_set():  # at shutdown the runner refuses new invocations
                return
            # A failure of the poller itself, not of the function: the processor stays busy and
            # holds its keys, so no later record overtakes this batch (the stack shows it in flight).
            raise
        processor.last_batch_ended = time.monotonic()
        processor.busy = False
        self._batch_ended.set()

    def _deliver(self, shard_id: str, batch: list[Mapping[str, Any]]) -> None:
        work: deque[tuple[list[Mapping[str, Any]], int]] = deque([(batch, 0)])
        while work and not self._pacing.stopping.is_set():
            records, attempts = work.popleft()
            event = {"Records": [{**record, "eventSourceARN": self.stream_arn} for record in records]}
            invocation = self._runner.invoke(self.function, json.loads(json.dumps(event, default=_json_default)))
            first_failed = _first_failure(invocation, records, self.source.report_item_failures)
            if first_failed is None:
                continue
            remaining = records[first_failed:]
            attempts += 1
            with self._lock:
                self.retries += 1
            condition = self._exhausted(remaining, attempts)
            if condition is not None:
                self._to_destination(shard_id, remaining, condition, attempts, invocation)
                continue
            if self._pacing.wait(_RETRY_BACKOFF_SECONDS[min(attempts, len(_RETRY_BACKOFF_SECONDS)) - 1]):
                return
            if not invocation.ok and self.source.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                work.appendleft((remaining[half:], attempts))
                work.appendleft((remaining[:half], attempts))
            else:
                work.appendleft((remaining, attempts))

    def _exhausted(self, records: list[Mapping[str, Any]], attempts: int) -> str | None:
        retries = self.source.maximum_retry_attempts
        if retries != -1 and attempts > retries:
            return "RetryAttemptsExhausted"
        age_limit = self.source.maximum_record_age_seconds
        if age_limit != -1 and time.time() - _created_at(records[0]) > age_limit:
            return "RecordAgeExceeded"
        return None

    def _to_destination(
        self, shard_id: str, records: list[Mapping[str, Any]], condition: str, attempts: int, last: Invocation
    ) -> None:
        if self._destination_url is None:
            return  # as on AWS: with no destination, the batch is dropped
        body = stream_failure_record(
            self.function,
            records,
            stream_arn=self.stream_arn,
            shard_id=shard_id,
            condition=condition,
            attempts=attempts,
            last=last,
        )
        self._sqs.send_message(QueueUrl=self._destination_url, MessageBody=body)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(f"cannot serialise {type(value).__name__}")


def read(declared: Declared) -> StreamSource:
    spec = declared.properties
    only_properties(
        spec,
        {
            "Stream",
            "StartingPosition",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "BisectBatchOnFunctionError",
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "FunctionResponseTypes",
            "DestinationConfig",
            "ParallelizationFactor",
            "Enabled",
        },
        declared.where,
    )
    return StreamSource(
        name=declared.name,
        table_logical_id=declared.stack.table_logical_id_for_stream(str(spec["Stream"])),
        starting_position=str(spec.get("StartingPosition", "LATEST")),
        batch_size=int(spec.get("BatchSize", 100)),
        batching_window_seconds=int(spec.get("MaximumBatchingWindowInSeconds", 0)),
        bisect_on_error=bool(spec.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(spec.get("MaximumRetryAttempts", -1)),
        maximum_record_age_seconds=int(spec.get("MaximumRecordAgeInSeconds", -1)),
        report_item_failures="ReportBatchItemFailures" in spec.get("FunctionResponseTypes", []),
        on_failure_arn=spec.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
        parallelization_factor=int(spec.get("ParallelizationFactor", 1)),
    )


def start(stack: "LocalStack", function: FunctionSpec, stream: StreamSource) -> StreamPoller:
    destination = stream.on_failure_arn
    return StreamPoller(
        stack.runner,
        function,
        stream,
        stream_arn=stack.resources.stream_arns[stream.table_logical_id],
        streams=stack.client("dynamodbstreams"),
        sqs=stack.sqs,
        destination_url=None if destination is None else stack.resources.queue_url_for_arn(destination),
        pacing=stack.pacing,
    )


TRIGGER = Trigger(("DynamoDB",), StreamSource, "Streams", read, start, lambda s: f"{s.table_logical_id} stream")
