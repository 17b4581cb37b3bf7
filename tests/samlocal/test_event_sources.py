"""Event sources retry as AWS does: SQS by visibility timeout and redrive, async invokes by
retries and an on-failure destination."""

import json
import time
from collections.abc import Callable
from pathlib import Path

from samlocal.local_stack import LocalStack


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_message_whose_handler_times_out_is_retried_after_the_visibility_timeout_then_dead_lettered(
    fixture_stack: LocalStack,
) -> None:
    sqs = fixture_stack.client("sqs")
    jobs, dead = fixture_stack.resources.queue_urls["Jobs"], fixture_stack.resources.queue_urls["JobsDeadLetters"]

    sqs.send_message(QueueUrl=jobs, MessageBody="job-1")
    wait_for(lambda: fixture_stack.queue_depth(dead) == 1, timeout=30)

    stats = fixture_stack.runner.stats()["SleeperOnQueue"]
    assert stats.timeouts == 2  # maxReceiveCount receives, each killed at the 1 s timeout
    (letter,) = sqs.receive_message(QueueUrl=dead, AttributeNames=["All"])["Messages"]
    assert letter["Body"] == "job-1"
    assert fixture_stack.queue_depth(jobs) == 0


def test_an_async_invocation_that_keeps_timing_out_is_tried_three_times_then_sent_to_its_destination(
    fixture_stack: LocalStack,
) -> None:
    events, sqs = fixture_stack.client("events"), fixture_stack.client("sqs")
    failed = fixture_stack.resources.queue_urls["FailedInvocations"]

    events.put_events(
        Entries=[{"EventBusName": "fixtures-bus", "Source": "tests.sleep", "DetailType": "Nap", "Detail": '{"n": 1}'}]
    )
    wait_for(lambda: fixture_stack.queue_depth(failed) == 1, timeout=40)

    (message,) = sqs.receive_message(QueueUrl=failed)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["detail"] == {"n": 1}
    assert "Task timed out after 1.00 seconds" in record["responsePayload"]["errorMessage"]
    assert fixture_stack.runner.stats()["SleeperOnBus"].timeouts == 3


def put_items(stack: LocalStack, *items: tuple[str, str]) -> None:
    dynamodb = stack.client("dynamodb")
    for name, mode in items:
        dynamodb.put_item(TableName=stack.resources.tables["Items"], Item={"id": {"S": name}, "mode": {"S": mode}})


def test_a_stream_batch_with_a_reported_failure_is_retried_from_that_record_on(
    fixture_stack: LocalStack, seen_log: Path
) -> None:
    put_items(fixture_stack, ("a1", "ok"), ("b1", "fail-once"), ("c1", "ok"))

    wait_for(lambda: seen_log.exists() and seen_log.read_text().split().count("b1") == 2, timeout=20)
    assert fixture_stack.wait_until_idle(timeout=20)

    handled = [name for name in seen_log.read_text().split() if name.endswith("1")]
    # The batch is checkpointed before b1 and retried from it: a1 once, b1 and what follows again.
    assert handled == ["a1", "b1", "c1", "b1", "c1"]


def test_a_record_that_keeps_failing_is_isolated_by_bisection_and_its_pointer_sent_to_the_destination(
    fixture_stack: LocalStack, seen_log: Path
) -> None:
    sqs = fixture_stack.client("sqs")
    failures = fixture_stack.resources.queue_urls["StreamFailures"]
    put_items(fixture_stack, ("a2", "ok"), ("b2", "explode"), ("c2", "ok"), ("d2", "ok"))

    wait_for(lambda: fixture_stack.queue_depth(failures) >= 1, timeout=30)
    wait_for(lambda: "d2" in seen_log.read_text().split(), timeout=20)

    (message,) = sqs.receive_message(QueueUrl=failures)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    batch = record["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 1
    assert batch["streamArn"] == fixture_stack.resources.stream_arns["Items"]
    assert {"a2", "c2", "d2"} <= set(seen_log.read_text().split())
