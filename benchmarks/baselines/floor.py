"""The floor: a process that imports boto3 and creates exactly the clients a function needs.

FLOOR_CLIENTS names them (e.g. "dynamodb,sqs"); the handler does nothing else.
"""

import os
from typing import Any

import boto3

_CLIENTS = [boto3.client(service) for service in os.environ["FLOOR_CLIENTS"].split(",")]  # type: ignore[call-overload]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"clients": len(_CLIENTS)}
