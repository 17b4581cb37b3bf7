"""Keeps the changes the announcer can never announce on an SQS queue, for an operator."""

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from order_service.ports import UnannouncedChange

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsSetAsideQueue:
    def __init__(self, client: "SQSClient", queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def set_aside(self, change: UnannouncedChange) -> None:
        body = {**asdict(change), "set_aside_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body))
