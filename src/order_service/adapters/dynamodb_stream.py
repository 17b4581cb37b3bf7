"""Reads DynamoDB stream records of the orders table as order changes."""

from collections.abc import Mapping
from typing import Any

from order_service.adapters.dynamodb_items import from_item
from order_service.ports import OrderChange, UnannouncedChange


def order_change(record: Mapping[str, Any]) -> OrderChange | None:
    """The change a stream record describes, or None for a removal.

    The stream must carry NEW_AND_OLD_IMAGES: a status change is told by comparing them.
    """
    images = record["dynamodb"]
    if record["eventName"] == "REMOVE" or "NewImage" not in images:
        return None
    before = images.get("OldImage")
    return OrderChange(
        before=None if before is None else from_item(before),
        after=from_item(images["NewImage"]),
    )


def unannounced_change(record: Mapping[str, Any], reason: str) -> UnannouncedChange:
    """A record that can never be announced, named without trusting its content: it may be
    the very thing that is malformed."""
    images = record.get("dynamodb") or {}
    key = str((images.get("Keys") or {}).get("PK", {}).get("S", ""))

    def status(image: str) -> str:
        return str((images.get(image) or {}).get("status", {}).get("S", "-"))

    return UnannouncedChange(
        order_id=key.removeprefix("order#") or None,
        change=f"{record.get('eventName', '?')} {status('OldImage')} -> {status('NewImage')}",
        position=f"stream sequence number {images.get('SequenceNumber', '?')}",
        reason=reason,
    )
