"""DynamoDB stream event source mapping.

Rules followed (see docs/local-stack.md for the AWS pages):
- records of a shard are delivered in order, in batches of up to BatchSize, starting at
  StartingPosition (TRIM_HORIZON or LATEST);
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
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orders_local.runtime.invocation import Invocation, Runner
from orders_local.sources.destinations import stream_failure_record
from orders_local.sources.pacing import Pacing
from orders_local.template import FunctionSpec, StreamSource

_RETRY_BACKOFF_SECONDS = (1, 2, 4, 8, 16, 32, 60)


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
        self._busy = False
        self._caught_up = False
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name=f"stream-{function.logical_id}", daemon=True)

    @property
    def busy(self) -> bool:
        return self._busy or not self._caught_up

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        iterators = {
            shard["ShardId"]: self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=self.source.starting_position
            )["ShardIterator"]
            for shard in shards
        }
        buffers: dict[str, list[Mapping[str, Any]]] = {shard_id: [] for shard_id in iterators}
        # When each shard's buffer got its oldest record: a batch is cut once it is full or
        # has waited MaximumBatchingWindowInSeconds, and records keep arriving meanwhile.
        waiting_since: dict[str, float] = {}
        while not self._pacing.stopping.is_set():
            fetched = 0
            for shard_id, iterator in list(iterators.items()):
                try:
                    response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                except Exception:  # the emulator going away at shutdown
                    if self._pacing.stopping.wait(0.5):
                        return
                    continue
                iterators[shard_id] = response.get("NextShardIterator", iterator)
                records = response.get("Records", [])
                fetched += len(records)
                if records and not buffers[shard_id]:
                    waiting_since[shard_id] = time.monotonic()
                buffers[shard_id].extend(records)
            self._caught_up = fetched == 0 and not any(buffers.values())
            for shard_id, buffer in buffers.items():
                window_over = time.monotonic() - waiting_since.get(shard_id, 0.0) >= self.source.batching_window_seconds
                while buffer and (len(buffer) >= self.source.batch_size or window_over):
                    if self._pacing.stopping.is_set():
                        return
                    batch = buffer[: self.source.batch_size]
                    del buffer[: len(batch)]
                    self._busy = True
                    try:
                        self._deliver(shard_id, batch)
                    finally:
                        self._busy = False
                    waiting_since[shard_id] = time.monotonic() if buffer else 0.0
            if fetched == 0:
                self._pacing.stopping.wait(0.1)

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
