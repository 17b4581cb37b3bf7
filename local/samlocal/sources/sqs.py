"""SQS event source mapping: long polling, batches, partial batch responses, redrive.

Rules followed (see docs/local-stack.md for the AWS pages):
- a batch is up to BatchSize messages, gathered for at most MaximumBatchingWindowInSeconds;
- after a successful invocation the batch is deleted, except the messages the function
  lists in `batchItemFailures` when ReportBatchItemFailures is on;
- a malformed partial response, or a failed invocation, fails the whole batch;
- at most ScalingConfig.MaximumConcurrency batches are handled at once (AWS: 2 to 1000). AWS
  starts with five concurrent batches and scales up while messages remain; locally there are
  never more than five (the pollers), so a cap above five changes nothing here;
- failed messages become visible again after the queue's visibility timeout and SQS
  itself moves them to the dead-letter queue after maxReceiveCount receives.
"""

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from samlocal.runtime.invocation import Invocation, Runner
from samlocal.sources import Declared, Trigger
from samlocal.sources.pacing import Pacing
from samlocal.template import REGION, FunctionSpec, SqsSource, only_properties, optional_int

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack

_LONG_POLL_SECONDS = 1  # short enough to stop promptly; SQS allows up to 20


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received message in the shape Lambda hands to the function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            name: attributes[name]
            for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
            if name in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_message_ids(invocation: Invocation, batch_ids: list[str], report_item_failures: bool) -> set[str]:
    """Which messages of the batch stay on the queue after this invocation."""
    if not invocation.ok:
        return set(batch_ids)
    if not report_item_failures:
        return set()
    response = invocation.payload
    if response is None or response == "" or response == {}:
        return set()
    if not isinstance(response, Mapping) or not isinstance(response.get("batchItemFailures", []), list):
        return set(batch_ids)
    failed: set[str] = set()
    for item in response.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)  # an unknown or empty identifier fails the whole batch
        failed.add(identifier)
    return failed


class SqsPoller:
    """Pollers for one SQS event source mapping."""

    def __init__(
        self,
        runner: Runner,
        function: FunctionSpec,
        source: SqsSource,
        *,
        queue_url: str,
        sqs: Any,
        pacing: Pacing,
        pollers: int = 5,
    ) -> None:
        self.function = function
        self.source = source
        self.queue_url = queue_url
        self._runner = runner
        self._sqs = sqs
        self._pacing = pacing
        self._in_flight = 0
        self._lock = threading.Lock()
        self.redeliveries = 0
        self.visibility_timeout = int(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        self._threads = [
            threading.Thread(target=self._poll, args=(index,), name=f"sqs-{function.logical_id}-{index}", daemon=True)
            for index in range(pollers)
        ]

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._in_flight > 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _receive_batch(self) -> list[Mapping[str, Any]]:
        batch: list[Mapping[str, Any]] = []
        deadline = time.monotonic() + self.source.batching_window_seconds
        while not self._pacing.stopping.is_set():
            wanted = min(10, self.source.batch_size - len(batch))
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=_LONG_POLL_SECONDS if not batch else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch.extend(response.get("Messages", []))
            if len(batch) >= self.source.batch_size or (batch and time.monotonic() >= deadline):
                break
            if batch and not response.get("Messages"):
                self._pacing.stopping.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        return batch

    def _allowed(self, index: int) -> bool:
        """Whether poller `index` may take a batch: one poller per batch allowed at once, read
        from the source each time, so a MaximumConcurrency saved in the template applies live."""
        return index < (self.source.maximum_concurrency or len(self._threads))

    def _poll(self, index: int) -> None:
        while not self._pacing.stopping.is_set():
            if not self._allowed(index):
                self._pacing.stopping.wait(0.2)
                continue
            try:
                batch = self._receive_batch()
                if not batch:
                    continue
                with self._lock:
                    self._in_flight += 1
                try:
                    self._deliver(batch)
                finally:
                    with self._lock:
                        self._in_flight -= 1
            except Exception:  # the emulator going away at shutdown; keep polling otherwise
                if self._pacing.stopping.wait(0.5):
                    return

    def _deliver(self, batch: list[Mapping[str, Any]]) -> None:
        records = [sqs_record(message, self._queue_arn) for message in batch]
        self.redeliveries += sum(
            int(record["attributes"].get("ApproximateReceiveCount", "1")) > 1 for record in records
        )
        invocation = self._runner.invoke(self.function, {"Records": records})
        ids = [record["messageId"] for record in records]
        failed = failed_message_ids(invocation, ids, self.source.report_item_failures)
        done = [message for message in batch if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done[start : start + 10])
                ],
            )
        if failed and self._pacing.scale != 1.0:
            # Scaled pacing: the failed messages come back after a scaled visibility timeout.
            retry_in = int(self._pacing.seconds(self.visibility_timeout))
            for message in batch:
                if message["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=retry_in
                    )

    @property
    def _queue_arn(self) -> str:
        return self.source.queue_arn


def read(declared: Declared) -> SqsSource:
    spec = declared.properties
    only_properties(
        spec,
        {"Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig", "Enabled"},
        declared.where,
    )
    return SqsSource(
        name=declared.name,
        queue_arn=str(spec["Queue"]),
        batch_size=int(spec.get("BatchSize", 10)),
        batching_window_seconds=int(spec.get("MaximumBatchingWindowInSeconds", 0)),
        report_item_failures="ReportBatchItemFailures" in spec.get("FunctionResponseTypes", []),
        # A template parameter's value is a string here, as it is to CloudFormation.
        maximum_concurrency=optional_int(spec.get("ScalingConfig", {}).get("MaximumConcurrency")),
    )


def start(stack: "LocalStack", function: FunctionSpec, source: SqsSource) -> SqsPoller:
    return SqsPoller(
        stack.runner,
        function,
        source,
        queue_url=stack.resources.queue_url_for_arn(source.queue_arn),
        sqs=stack.sqs,
        pacing=stack.pacing,
    )


TRIGGER = Trigger(("SQS",), SqsSource, "SQS triggers", read, start, lambda s: s.queue_arn.rsplit(":", 1)[-1])
