"""Publishes order events to EventBridge, treating a partial failure as a failure."""

from typing import TYPE_CHECKING

from order_service.models.events import ORDER_PLACED, OrderPlaced
from order_service.ports import PublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgePublisher:
    def __init__(self, client: "EventBridgeClient", *, bus_name: str, source: str) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source

    def publish_order_placed(self, event: OrderPlaced) -> None:
        # PutEvents answers 200 even when it dropped the entry: FailedEntryCount says so.
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus,
                    "Source": self._source,
                    "DetailType": ORDER_PLACED,
                    "Detail": event.model_dump_json(by_alias=True),
                    "Resources": [],
                }
            ]
        )
        if response.get("FailedEntryCount", 0):
            entry = response["Entries"][0]
            code = entry.get("ErrorCode", "")
            raise PublishError(
                f"EventBridge refused {ORDER_PLACED} for order {event.order_id}: "
                f"{code or '?'} {entry.get('ErrorMessage', '')}".rstrip(),
                code=code,
            )
