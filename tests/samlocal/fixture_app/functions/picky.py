"""Handles stream records by their `mode`: ok, fail-once (reported as a batch item failure the
first time it is seen), or explode (raises, failing the whole invocation)."""

import os
from pathlib import Path
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = Path(os.environ["SEEN_LOG"])
    seen = log.read_text().split() if log.exists() else []
    failures = []
    for record in event["Records"]:
        item = record["dynamodb"]["NewImage"]
        name, mode = item["id"]["S"], item["mode"]["S"]
        with log.open("a") as stream:
            stream.write(name + "\n")
        if mode == "explode":
            raise RuntimeError(f"{name} cannot be handled")
        if mode == "fail-once" and name not in seen:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
