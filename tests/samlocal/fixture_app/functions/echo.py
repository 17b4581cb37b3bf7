"""Answers with its process id and what it received; sleeps or crashes when asked."""

import json
import os
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    time.sleep(float(query.get("sleep", "0")))
    if query.get("crash"):
        raise RuntimeError("crashed on purpose")
    body = {
        "pid": os.getpid(),
        "path": event["path"],
        "pathParameters": event["pathParameters"],
        "query": event["multiValueQueryStringParameters"],
        "headers": event["multiValueHeaders"],
        "body": event["body"],
        "isBase64Encoded": event["isBase64Encoded"],
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
