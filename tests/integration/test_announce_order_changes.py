"""The stream announcer: new orders become OrderPlaced, final statuses become notifications."""

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_items import to_item
from order_service.models.order import LineItem, Order, OrderStatus
from tests.events import stream_record


def an_order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    now = datetime.now(UTC)
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id="c-announce",
        customer_email="announce@example.com",
        currency="EUR",
        items=(LineItem(sku="A", quantity=1, unit_price_minor=500),),
        total_minor=500,
        status=status,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def order_placed_inbox(stack: LocalStack) -> Iterator[str]:
    """A queue subscribed to the bus's OrderPlaced events, as any other consumer would be."""
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"inbox-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.resources.event_buses[0]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": ["OrderPlaced"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
    yield url
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["inbox"])
    events.delete_rule(Name=name, EventBusName=bus)


def received(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    messages = (
        stack.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    )
    return [json.loads(message["Body"]) for message in messages]


def test_an_inserted_order_is_published_as_order_placed_in_camel_case(
    stack: LocalStack, order_placed_inbox: str
) -> None:
    order = an_order()

    invocation = stack.invoke(
        "AnnounceOrderChangesFunction", {"Records": [stream_record("INSERT", to_item(order), None, 1)]}
    )

    assert invocation.payload == {"batchItemFailures": []}
    (event,) = received(stack, order_placed_inbox)
    assert event["source"] == "order-service"
    assert event["detail"]["orderId"] == order.order_id
    assert event["detail"]["total"] == "5.00"
    assert "announce@example.com" not in json.dumps(event)


def test_when_the_bus_refuses_the_event_only_that_record_is_reported_for_retry(stack: LocalStack) -> None:
    placed = an_order()
    completed_before, completed_after = an_order(), None
    completed_after = completed_before.model_copy(update={"status": OrderStatus.COMPLETED, "version": 2})
    records = [
        stream_record("MODIFY", to_item(completed_after), to_item(completed_before), 10),
        stream_record("INSERT", to_item(placed), None, 11),
    ]
    stack.emulator.middleware.outages.add("events:PutEvents")
    try:
        invocation = stack.invoke("AnnounceOrderChangesFunction", {"Records": records})
    finally:
        stack.emulator.middleware.outages.discard("events:PutEvents")

    assert invocation.payload == {"batchItemFailures": [{"itemIdentifier": "11"}]}


def test_a_removed_item_announces_nothing(stack: LocalStack) -> None:
    gone = an_order()

    invocation = stack.invoke(
        "AnnounceOrderChangesFunction", {"Records": [stream_record("REMOVE", None, to_item(gone), 20)]}
    )

    assert invocation.payload == {"batchItemFailures": []}


def test_once_a_record_fails_no_later_record_of_the_batch_is_announced_until_the_retry(
    stack: LocalStack, emails_to: Callable[[str], list[Any]]
) -> None:
    # Given a batch whose first record (a new order) meets the bus down, then a decided order
    placed = an_order()
    decided_before = an_order().model_copy(update={"customer_email": f"later-{uuid.uuid4().hex[:8]}@example.com"})
    decided_after = decided_before.model_copy(update={"status": OrderStatus.COMPLETED, "version": 2})
    # stored as the stream says: the notification goes to what the store holds
    stack.client("dynamodb").put_item(TableName=stack.resources.tables["OrdersTable"], Item=to_item(decided_after))
    records = [
        stream_record("INSERT", to_item(placed), None, 30),
        stream_record("MODIFY", to_item(decided_after), to_item(decided_before), 31),
    ]
    stack.emulator.middleware.outages.add("events:PutEvents")
    try:
        # When the announcer handles it
        first = stack.invoke("AnnounceOrderChangesFunction", {"Records": records})
    finally:
        stack.emulator.middleware.outages.discard("events:PutEvents")
    stack.wait_until_idle(timeout=30, settle=0.5)

    # Then both are reported and the later one was not notified: nothing overtook the failure
    assert first.payload == {"batchItemFailures": [{"itemIdentifier": "30"}, {"itemIdentifier": "31"}]}
    assert emails_to(decided_before.customer_email) == []

    # And the stream's retry announces both, in order, once each
    retry = stack.invoke("AnnounceOrderChangesFunction", {"Records": records})
    assert retry.payload == {"batchItemFailures": []}
    stack.wait_until_idle(timeout=30, settle=0.5)
    assert len(emails_to(decided_before.customer_email)) == 1


def test_a_record_that_can_never_be_announced_is_set_aside_and_the_records_behind_it_go_out(
    stack: LocalStack, order_placed_inbox: str
) -> None:
    # Given a record whose image no release of the code can read (no currency), then a good one
    broken, good = an_order(), an_order()
    unreadable = to_item(broken)
    del unreadable["currency"]
    records = [stream_record("INSERT", unreadable, None, 40), stream_record("INSERT", to_item(good), None, 41)]

    # When the announcer handles the batch
    invocation = stack.invoke("AnnounceOrderChangesFunction", {"Records": records})

    # Then the batch is done, the good order is announced, and the broken one waits, with why
    assert invocation.payload == {"batchItemFailures": []}
    assert [event["detail"]["orderId"] for event in received(stack, order_placed_inbox)] == [good.order_id]
    messages = (
        stack.client("sqs")
        .receive_message(QueueUrl=stack.resources.queue_urls["UnannouncedChangesQueue"], WaitTimeSeconds=1)
        .get("Messages", [])
    )
    (set_aside,) = [json.loads(message["Body"]) for message in messages]
    assert set_aside["order_id"] == broken.order_id
    assert set_aside["position"] == "stream sequence number 40"
    assert set_aside["reason"].startswith("KeyError")
    assert "@" not in json.dumps(set_aside)
    assert '"AnnouncementSetAside"' in stack.logs.text()
