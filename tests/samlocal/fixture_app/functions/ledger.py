"""Handles a ledger's stream records (account, entry) in order, noting each in the file the
record names, with when each invocation starts and ends. A record's `mode` says how it goes:
ok; fail-once (the first time, it and every later record of the batch are reported failed and
left unhandled, as the announcer does); or explode (raises, failing the whole invocation)."""

import os
import time
from typing import Any


def note(path: str, line: str) -> None:
    """One line, one write, on a file opened for appending: lines of concurrent workers never mix."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (line + "\n").encode())
    finally:
        os.close(descriptor)


def first_time(path: str) -> bool:
    """True once per marker file, across workers."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return False
    return True


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event["Records"]
    log = records[0]["dynamodb"]["NewImage"]["log"]["S"]
    request = context.aws_request_id
    note(log, f"{request} start {time.time()}")
    time.sleep(max(float(record["dynamodb"]["NewImage"].get("hold", {}).get("N", "0")) for record in records))
    failures: list[dict[str, str]] = []
    for record in records:
        item, sequence_number = record["dynamodb"]["NewImage"], record["dynamodb"]["SequenceNumber"]
        account, entry, mode = item["account"]["S"], item["entry"]["N"], item["mode"]["S"]
        if failures:  # an earlier record failed: this one waits for the retry, unhandled
            failures.append({"itemIdentifier": sequence_number})
            continue
        note(log, f"{request} attempt {account} {entry} {sequence_number}")
        if mode == "explode":
            note(log, f"{request} end {time.time()}")
            raise RuntimeError(f"{account} {entry} cannot be handled")
        if mode == "fail-once" and first_time(f"{log}.{account}.{entry}.failed"):
            failures.append({"itemIdentifier": sequence_number})
            continue
        note(log, f"{request} handled {account} {entry}")
    note(log, f"{request} end {time.time()}")
    return {"batchItemFailures": failures}
