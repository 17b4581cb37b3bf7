"""AWS clients, created once per container from one shared session.

Endpoints come from botocore's own configuration (`AWS_ENDPOINT_URL`), which is how the
local stack points the functions at its embedded emulator; nothing here knows about it.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from order_service.settings import _FunctionSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _cached_client(service: str, max_attempts: int, connect_timeout: float, read_timeout: float) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # One connection per concurrent caller: handlers are single-threaded.
        max_pool_connections=4,
    )
    return _session().client(service, config=config)  # type: ignore[call-overload]


def _client(service: str, settings: _FunctionSettings) -> Any:
    return _cached_client(
        service, settings.aws_max_attempts, settings.aws_connect_timeout_seconds, settings.aws_read_timeout_seconds
    )


def dynamodb_client(settings: _FunctionSettings) -> "DynamoDBClient":
    client: DynamoDBClient = _client("dynamodb", settings)
    return client


def sqs_client(settings: _FunctionSettings) -> "SQSClient":
    client: SQSClient = _client("sqs", settings)
    return client


def events_client(settings: _FunctionSettings) -> "EventBridgeClient":
    client: EventBridgeClient = _client("events", settings)
    return client


def sesv2_client(settings: _FunctionSettings) -> "SESV2Client":
    client: SESV2Client = _client("sesv2", settings)
    return client
