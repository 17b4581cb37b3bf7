"""What only the DynamoDB store promises: listing through the GSI, never a scan."""

import uuid
from datetime import UTC, datetime, timedelta

from orders_local.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.models.order import LineItem, Order, OrderStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def an_order(customer_id: str, minutes: int) -> Order:
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id=customer_id,
        customer_email="repo@example.com",
        currency="EUR",
        items=(LineItem(sku="A", quantity=1, unit_price_minor=100),),
        total_minor=100,
        status=OrderStatus.PENDING,
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
    )


def test_listing_queries_the_customer_index_and_never_scans(
    stack: LocalStack,
) -> None:
    repository = DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])
    customer = f"c-{uuid.uuid4().hex[:8]}"
    orders = [an_order(customer, minutes) for minutes in range(5)]
    for order in orders:
        repository.add(order)
    calls = stack.emulator.middleware.calls
    scans_before, queries_before = calls["dynamodb:Scan"], calls["dynamodb:Query"]

    pages, token = [], None
    while True:
        page = repository.list_by_customer(customer, 2, token)
        pages.append([order.order_id for order in page.orders])
        token = page.next_token
        if token is None:
            break

    assert [order_id for page in pages for order_id in page] == [order.order_id for order in reversed(orders)]
    assert calls["dynamodb:Scan"] == scans_before
    assert calls["dynamodb:Query"] > queries_before
