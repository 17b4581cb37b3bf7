"""Event sources scale as AWS scales them: an SQS source up to its MaximumConcurrency, a
DynamoDB stream up to ParallelizationFactor batches of a shard at once, each partition key's
records still handled in stream order.

- https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-max-concurrency
- https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (ParallelizationFactor: "Lambda
  still ensures in-order processing at the item (partition and sort key) level"; the local
  stack keeps each partition key's records in order, which includes each item's)
"""

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from samlocal.local_stack import LocalStack
from samlocal.sources.streams import processor_index
from samlocal.template import SqsSource, StreamSource

# Waits for what a busy machine makes slow (worker starts), never a fixed pause.
PATIENCE = 30.0


def wait_for(check: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def invocations(log: Path) -> list[tuple[float, float]]:
    """(start, end) of each invocation that noted both."""
    starts = {words[0]: float(words[2]) for words in lines(log) if words[1] == "start"}
    ends = {words[0]: float(words[2]) for words in lines(log) if words[1] == "end"}
    return [(starts[request], ends[request]) for request in starts.keys() & ends.keys()]


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one moment (one that ends as another starts does not overlap it)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def handled_by_account(log: Path) -> dict[str, list[int]]:
    """Each account's entries, in the order the function handled them."""
    handled: dict[str, list[int]] = defaultdict(list)
    for words in lines(log):
        if words[1] == "handled":
            handled[words[2]].append(int(words[3]))
    return dict(handled)


def write_ledger(stack: LocalStack, log: Path, entries: list[tuple[str, int, str]], hold: float) -> None:
    dynamodb = stack.client("dynamodb")
    for account, entry, mode in entries:
        dynamodb.put_item(
            TableName=stack.resources.tables["Ledger"],
            Item={
                "account": {"S": account},
                "entry": {"N": str(entry)},
                "mode": {"S": mode},
                "log": {"S": str(log)},
                "hold": {"N": str(hold)},
            },
        )


def processors_of(accounts: list[str], factor: int) -> set[int]:
    records = [{"dynamodb": {"Keys": {"account": {"S": name}, "entry": {"N": "1"}}}} for name in accounts]
    return {processor_index(record, ["account"], factor) for record in records}


@contextmanager
def saved_settings(stack: LocalStack, logical_id: str, **source_settings: Any) -> Iterator[None]:
    """The function's event source as if its settings were saved in the template while running
    (`orders up` applies them live, as `update_function`); the stack's own settings after."""
    function = stack.functions[logical_id]
    found: list[SqsSource | StreamSource] = [*function.sqs_sources, *function.stream_sources]
    (source,) = found
    saved = replace(function, sources=(replace(source, **source_settings),))
    stack.update_function(saved)
    try:
        yield
    finally:
        stack.update_function(function)


def send_errands(stack: LocalStack, log: Path, count: int) -> None:
    sqs, errands = stack.client("sqs"), stack.resources.queue_urls["Errands"]
    body = json.dumps({"log": str(log), "hold": 0.2})
    for first in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=errands,
            Entries=[{"Id": str(n), "MessageBody": body} for n in range(first, min(first + 10, count))],
        )


def test_given_maximum_concurrency_2_when_20_messages_arrive_then_never_more_than_2_invocations_run_at_once(
    fixture_stack: LocalStack, tmp_path: Path
) -> None:
    log = tmp_path / "tally.log"

    send_errands(fixture_stack, log, 20)
    wait_for(lambda: len(invocations(log)) == 20)

    # Tally may have 4 workers: only the source's MaximumConcurrency holds it at 2.
    assert most_at_once(invocations(log)) == 2
    wait_for(lambda: fixture_stack.queue_depth(fixture_stack.resources.queue_urls["Errands"]) == 0)


def test_given_maximum_concurrency_raised_to_3_while_running_then_3_invocations_run_at_once(
    fixture_stack: LocalStack, tmp_path: Path
) -> None:
    log = tmp_path / "tally.log"

    with saved_settings(fixture_stack, "Tally", maximum_concurrency=3):
        send_errands(fixture_stack, log, 20)
        wait_for(lambda: len(invocations(log)) == 20)

    assert most_at_once(invocations(log)) == 3


def test_given_parallelization_factor_4_then_batches_of_the_shard_overlap_and_each_accounts_entries_stay_in_order(
    fixture_stack: LocalStack, tmp_path: Path
) -> None:
    log = tmp_path / "ledger.log"
    accounts = ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert len(processors_of(accounts, 4)) == 4  # the accounts are spread over every processor
    # bob's entry 2 is reported failed once, with the entries after it in its batch.
    entries = [
        (account, entry, "fail-once" if (account, entry) == ("bob", 2) else "ok")
        for entry in range(1, 5)
        for account in accounts
    ]

    write_ledger(fixture_stack, log, entries, hold=0.3)
    wait_for(lambda: sum(map(len, handled_by_account(log).values())) == len(entries))

    assert handled_by_account(log) == {account: [1, 2, 3, 4] for account in accounts}
    attempts_of_bob_2 = [words for words in lines(log) if words[1:4] == ["attempt", "bob", "2"]]
    assert len(attempts_of_bob_2) == 2  # reported once, retried, then handled
    assert 2 <= most_at_once(invocations(log)) <= 4


def test_given_parallelization_factor_4_when_a_record_keeps_failing_then_bisection_isolates_it_and_its_key_goes_on(
    fixture_stack: LocalStack, tmp_path: Path
) -> None:
    log = tmp_path / "ledger.log"
    sqs, failures = fixture_stack.client("sqs"), fixture_stack.resources.queue_urls["LedgerFailures"]
    accounts = ["ivan", "judy", "liam", "mia"]  # ivan and mia share a processor, so its batches
    assert processors_of(["ivan"], 4) == processors_of(["mia"], 4)
    entries = [
        (account, entry, "explode" if (account, entry) == ("ivan", 2) else "ok")
        for entry in range(1, 5)
        for account in accounts
    ]

    write_ledger(fixture_stack, log, entries, hold=0.0)
    wait_for(lambda: fixture_stack.queue_depth(failures) >= 1)
    wait_for(lambda: sum(len(set(handled)) for handled in handled_by_account(log).values()) == len(entries) - 1)

    (message,) = sqs.receive_message(QueueUrl=failures)["Messages"]
    batch = json.loads(message["Body"])["DDBStreamBatchInfo"]
    exploded = {words[4] for words in lines(log) if words[1:4] == ["attempt", "ivan", "2"]}
    assert (batch["batchSize"], {batch["startSequenceNumber"], batch["endSequenceNumber"]}) == (1, exploded)
    handled = handled_by_account(log)
    # A record handled before a failure in its batch may be handled again, never after a later one.
    for account in accounts:
        assert handled[account] == sorted(handled[account]), account
    assert {account: set(entries) for account, entries in handled.items()} == {
        "ivan": {1, 3, 4},
        "judy": {1, 2, 3, 4},
        "liam": {1, 2, 3, 4},
        "mia": {1, 2, 3, 4},
    }
    sqs.delete_message(QueueUrl=failures, ReceiptHandle=message["ReceiptHandle"])


def test_given_parallelization_factor_1_saved_while_running_then_one_batch_at_a_time_each_account_in_order(
    fixture_stack: LocalStack, tmp_path: Path
) -> None:
    log = tmp_path / "ledger.log"
    accounts = ["alice", "carol", "dave", "frank"]  # on four different processors at factor 4
    entries = [(account, entry, "ok") for entry in range(1, 4) for account in accounts]

    with saved_settings(fixture_stack, "Bookkeeper", parallelization_factor=1):
        write_ledger(fixture_stack, log, entries, hold=0.1)
        wait_for(lambda: sum(map(len, handled_by_account(log).values())) == len(entries))

    assert handled_by_account(log) == {account: [1, 2, 3] for account in accounts}
    assert most_at_once(invocations(log)) == 1


@pytest.mark.parametrize("factor", [1, 4, 10])
def test_one_partition_keys_records_always_go_to_the_same_processor_whatever_their_sort_key(factor: int) -> None:
    records = [{"dynamodb": {"Keys": {"account": {"S": "alice"}, "entry": {"N": str(n)}}}} for n in range(50)]

    chosen = {processor_index(record, ["account"], factor) for record in records}

    assert len(chosen) == 1
    assert chosen <= set(range(factor))
