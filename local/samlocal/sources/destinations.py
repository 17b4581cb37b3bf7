"""On-failure destination records, in the shapes Lambda writes them."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from samlocal.runtime.invocation import Invocation
from samlocal.template import FunctionSpec


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def async_failure_record(
    function: FunctionSpec, event: Mapping[str, Any], last: Invocation, *, condition: str, attempts: int
) -> str:
    """What Lambda sends to an async invocation's on-failure destination."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": _now(),
            "requestContext": {
                "requestId": last.request_id,
                "functionArn": f"{function.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": dict(last.error or {}),
        }
    )


def stream_failure_record(
    function: FunctionSpec,
    records: list[Mapping[str, Any]],
    *,
    stream_arn: str,
    shard_id: str,
    condition: str,
    attempts: int,
    last: Invocation | None,
) -> str:
    """What Lambda sends to a stream event source's on-failure destination: a pointer, not the records."""
    first, final = records[0], records[-1]
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": _now(),
            "requestContext": {
                "requestId": last.request_id if last else "",
                "functionArn": function.arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": final["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _arrival(first),
                "approximateArrivalOfLastRecord": _arrival(final),
                "batchSize": len(records),
                "streamArn": stream_arn,
            },
        }
    )


def _arrival(record: Mapping[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return created.isoformat()
    return datetime.fromtimestamp(float(created or 0), UTC).isoformat()
