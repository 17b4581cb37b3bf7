"""What only the DynamoDB store promises: listing through the GSI, never a scan."""

import uuid

from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from tests.integration.test_order_repository_contract import an_order


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
