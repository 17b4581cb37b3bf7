"""The floor: boto3 alone, creating the clients a function creates and making the AWS calls
its first invocation makes.

FLOOR_CLIENTS names the clients (e.g. "dynamodb,sqs"), created at init as the function creates
its own; each event lists the calls to make, in order: {"calls": [{"client": "dynamodb",
"operation": "PutItem", "parameters": {...}}]}.
"""

import os
from typing import Any

import boto3
from botocore import xform_name

_CLIENTS = {service: boto3.client(service) for service in os.environ["FLOOR_CLIENTS"].split(",")}  # type: ignore[call-overload]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for call in event["calls"]:
        getattr(_CLIENTS[call["client"]], xform_name(call["operation"]))(**call["parameters"])
    return {"calls": len(event["calls"])}
