"""AWS clients, created once per container from one shared session.

Endpoints come from botocore's own configuration (`AWS_ENDPOINT_URL`), which is how the
local stack points the functions at its embedded emulator; nothing here knows about it.
Every client carries the invocation's deadline guard (adapters/time_budget.py), and its
timeouts and attempts come from the function's settings, whose worst case of one call fits
the function's timeout.
"""

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from order_service.adapters import ses_mailer
from order_service.adapters.time_budget import refuse_late_attempts
from order_service.settings import _FunctionSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _cached_client(service: str, max_attempts: int, connect_timeout: float, read_timeout: float) -> Any:
    config = Config(
        # total_max_attempts counts the first attempt; Config's own `max_attempts` counts retries only.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # One connection per concurrent caller: handlers are single-threaded.
        max_pool_connections=4,
    )
    client = _session().client(service, config=config)  # type: ignore[call-overload]
    refuse_late_attempts(client, attempt_seconds=connect_timeout + read_timeout)
    return client


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
    """One attempt per call: SES has no idempotency token, so botocore's retry after a read
    timeout could send an e-mail SES already sent. SesMailer retries only what SES answered
    without sending (a throttle, a 5xx); the sends and the pause between them share the
    budget of one call, with a long read timeout."""
    connect = settings.aws_connect_timeout_seconds
    read = (settings.aws_call_worst_case_seconds() - ses_mailer.PAUSE_SECONDS) / ses_mailer.SEND_ATTEMPTS - connect
    client: SESV2Client = _cached_client("sesv2", 1, connect, read)
    return client


def secretsmanager_client(settings: _FunctionSettings) -> "SecretsManagerClient":
    client: SecretsManagerClient = _client("secretsmanager", settings)
    return client
