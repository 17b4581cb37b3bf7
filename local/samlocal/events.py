"""`samlocal events ID`: the log records about one id (an order's, say), across functions, in time order.

The functions log Powertools JSON records. What ties them to an order:
- `order_id`: every function appends it once it knows the order (the API, ProcessOrder,
  AnnounceOrderChanges, SendNotification); a batch summary lists it inside a nested object
  (SendNotification's "Notifications sent" names each notification's `order_id`);
- `correlation_id`: per request, not per order: the API's is API Gateway's request id (the
  `x-amzn-RequestId` header of the answer), ProcessOrder's the EventBridge event's id.

So ID may be an order id or a correlation id. Records that share a correlation id with a record
of the order are the order's too: they tell the same request's story.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text

from samlocal.logs import LEVEL_WIDTH, json_object, level_style, record_from

_ID_KEYS = frozenset({"order_id", "correlation_id"})


@dataclass(frozen=True)
class Event:
    time: datetime
    function: str
    level: str
    message: str


def _mentions(value: Any, wanted: str) -> bool:
    """Whether `wanted` is the value of an `order_id` or `correlation_id` key, at any depth."""
    if isinstance(value, Mapping):
        return any((key in _ID_KEYS and item == wanted) or _mentions(item, wanted) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions(item, wanted) for item in value)
    return False


def _records(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The JSON records of a log file whose lines read `FunctionLogicalId <text>`."""
    for line in lines:
        function, _, text = line.rstrip("\n").partition(" ")
        fields = json_object(text)
        if fields is not None and "_aws" not in fields:  # metrics blobs name no order
            yield function, fields


def events_of(lines: Iterable[str], wanted: str) -> list[Event]:
    """The records that mention `wanted`, or share a correlation id with one that does, by time."""
    records = list(_records(lines))
    correlated = {
        fields["correlation_id"]
        for _, fields in records
        if isinstance(fields.get("correlation_id"), str) and _mentions(fields, wanted)
    }
    found: list[Event] = []
    for function, fields in records:
        correlation = fields.get("correlation_id")
        if not (_mentions(fields, wanted) or (isinstance(correlation, str) and correlation in correlated)):
            continue
        record = record_from(fields)
        if record.time is None:
            continue  # cannot be placed among the others; Powertools records always have a time
        found.append(Event(record.time, function, record.level, record.message))
    # Stable: records logged within the same millisecond keep the order they were written in.
    return sorted(found, key=lambda event: event.time)


def event_lines(events: list[Event]) -> list[Text]:
    """One line per record: time (local; with the date when they span several days), function,
    level, message."""
    days = {event.time.astimezone().date() for event in events}
    pattern = "%H:%M:%S.%f" if len(days) <= 1 else "%Y-%m-%d %H:%M:%S.%f"
    width = max((len(event.function) for event in events), default=0)
    lines = []
    for event in events:
        line = Text()
        line.append(event.time.astimezone().strftime(pattern)[:-3], style="dim")
        line.append(f" {event.function:<{width}} ", style="cyan")
        line.append(f"{event.level:<{LEVEL_WIDTH}} ", style=level_style(event.level))
        line.append(event.message)
        lines.append(line)
    return lines
