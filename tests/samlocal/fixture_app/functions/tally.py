"""Notes when each invocation starts and ends, in the file its messages name, holding each
invocation open for as long as they ask: how many ran at once can then be read back."""

import json
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


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    asked = [json.loads(record["body"]) for record in event["Records"]]
    log = asked[0]["log"]
    note(log, f"{context.aws_request_id} start {time.time()}")
    time.sleep(max(float(one.get("hold", 0)) for one in asked))
    note(log, f"{context.aws_request_id} end {time.time()}")
    return {"batchItemFailures": []}
