"""The stalled-order sweep in the running pipeline: an order whose OrderPlaced was lost is
announced again on the sweeper's schedule, decided once and e-mailed once."""

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.models.order import LineItem, Order, OrderStatus
from tests.integration.conftest import eventually

SWEEPER = "SweepStalledOrdersFunction"


@contextlib.contextmanager
def order_placed_events_lost(stack: LocalStack) -> Iterator[None]:
    """Meanwhile the bus delivers OrderPlaced nowhere: the rule's only target (process_order's
    async queue) is detached, as if EventBridge had given up on the delivery."""
    events, sqs = stack.client("events"), stack.client("sqs")
    bus = stack.resources.event_buses[0]
    queue_url = stack.resources.rule_queues[("ProcessOrderFunction", "OrderPlaced")]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (rule,) = events.list_rule_names_by_target(TargetArn=queue_arn, EventBusName=bus)["RuleNames"]
    (target,) = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=[target["Id"]])
    try:
        yield
    finally:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])


def an_order_placed(ago: timedelta) -> Order:
    placed_at = datetime.now(UTC) - ago
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id="c-stalled",
        customer_email=f"stalled-{uuid.uuid4().hex[:8]}@example.com",
        currency="EUR",
        items=(LineItem(sku="A", quantity=1, unit_price_minor=500),),
        total_minor=500,
        status=OrderStatus.PENDING,
        created_at=placed_at,
        updated_at=placed_at,
    )


def stored_status(stack: LocalStack, order_id: str) -> OrderStatus | None:
    repository = DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])
    order = repository.get(order_id)
    return None if order is None else order.status


def reannounced_by_metric(stack: LocalStack) -> int:
    """`StalledOrdersReannounced` summed over the sweeper's EMF lines, as CloudWatch would."""
    total = 0
    for line in stack.logs.lines:
        if line.function == SWEEPER and '"_aws"' in line.text:
            value = json.loads(line.text).get("StalledOrdersReannounced", 0)
            total += int(sum(value) if isinstance(value, list) else value)
    return total


def test_an_order_whose_announcement_was_lost_is_reannounced_by_the_sweeper_and_e_mailed_once(
    stack: LocalStack, emails_to: Callable[[str], list[Any]]
) -> None:
    # Given an order placed an hour ago whose OrderPlaced the bus lost
    assert stack.wait_until_idle(timeout=60)
    order = an_order_placed(ago=timedelta(hours=1))
    with order_placed_events_lost(stack):
        DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"]).add(order)
        assert stack.wait_until_idle(timeout=60)
        assert stored_status(stack, order.order_id) is OrderStatus.PENDING

    # When the sweeper runs on its schedule (every 5 minutes, scaled)
    eventually(lambda: stored_status(stack, order.order_id) is OrderStatus.COMPLETED, timeout=60)
    assert stack.wait_until_idle(timeout=60)

    # Then the order was decided once and e-mailed once, and the sweeper said so
    assert len(emails_to(order.customer_email)) == 1
    assert any(
        "Stalled order re-announced" in line.text and order.order_id in line.text
        for line in stack.logs.lines
        if line.function == SWEEPER
    )
    assert reannounced_by_metric(stack) >= 1
