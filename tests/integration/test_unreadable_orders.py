"""A stored order that no longer reads as an order (a corrupted item, a bound tightened since
it was stored) is set aside by every reader of many rows, with its reason and no customer
data, and the others are still read: on both stores, then in the running functions."""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from orders_local.postgres import LocalDatabase
from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_items import order_key, to_item
from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.orders import PostgresOrderRepository
from order_service.models.order import Order
from order_service.ports import OrderRepository, UnreadableOrder
from order_service.services.stalled_orders import reannounce_stalled_orders
from tests.builders import a_pending_order
from tests.events import api_request
from tests.fakes import RecordingPublisher
from tests.integration.conftest import ApiAnswer, eventually
from tests.integration.test_order_repository_contract import an_earlier_window, quiet_orders_table

__all__ = ["quiet_orders_table"]  # a fixture, shared with the repository contract

CUSTOMER_EMAIL = "unreadable@example.com"
# An item no release accepts (a SKU starts with a letter or digit and has no "@"), holding
# customer data, as a row corrupted by hand may.
BAD_SKU = f"-{CUSTOMER_EMAIL}"


def an_order(customer_id: str, placed_at: datetime) -> Order:
    return a_pending_order(customer_id=customer_id, customer_email=CUSTOMER_EMAIL, at=placed_at, unit_price_minor=700)


@dataclass(frozen=True)
class Store:
    repository: OrderRepository
    # Stores the order, then breaks its stored item as no write of the service could.
    store_unreadable: Callable[[Order], None]


@pytest.fixture(params=["dynamodb", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    broken: list[str] = []
    if request.param == "dynamodb":
        stack: LocalStack = request.getfixturevalue("stack")
        table: str = request.getfixturevalue("quiet_orders_table")
        client = stack.client("dynamodb")

        def put_unreadable(order: Order) -> None:
            item: Any = to_item(order)
            item["items"]["L"][0]["M"]["sku"] = {"S": BAD_SKU}
            client.put_item(TableName=table, Item=item)
            broken.append(order.order_id)

        yield Store(DynamoDbOrderRepository(client, table), put_unreadable)
        # Gone afterwards, so that no other test reads it.
        for order_id in broken:
            client.delete_item(TableName=table, Key=order_key(order_id))
        return
    database: LocalDatabase = request.getfixturevalue("postgres_database")
    opened = Database(lambda: connect(database.url, statement_timeout_ms=5000))
    repository = PostgresOrderRepository(opened)
    with psycopg.connect(database.url, autocommit=True) as admin:

        def add_unreadable(order: Order) -> None:
            repository.add(order)
            admin.execute("UPDATE order_items SET sku = %s WHERE order_id = %s", (BAD_SKU, order.order_id))
            broken.append(order.order_id)

        yield Store(repository, add_unreadable)
        admin.execute("DELETE FROM orders WHERE order_id = ANY(%s)", (broken,))
    opened.close()


def assert_names_the_field_not_the_value(unreadable: UnreadableOrder) -> None:
    assert "items.0.sku" in unreadable.reason
    assert "string_pattern_mismatch" in unreadable.reason
    assert CUSTOMER_EMAIL not in unreadable.reason


def test_the_sweep_reannounces_the_good_pending_orders_and_reports_the_unreadable_one(store: Store) -> None:
    # Given three orders pending for an hour, the oldest but one unreadable
    window = an_earlier_window()
    first, bad, last = (an_order("c-sweep", window + timedelta(minutes=m)) for m in (1, 2, 3))
    store.repository.add(first)
    store.store_unreadable(bad)
    store.repository.add(last)
    events = RecordingPublisher()
    reported: list[UnreadableOrder] = []

    # When the sweep runs, two orders at most
    count = reannounce_stalled_orders(
        orders=store.repository,
        events=events,
        clock=lambda: window + timedelta(hours=1),
        older_than=timedelta(minutes=15),
        limit=2,
        on_unreadable=reported.append,
    )

    # Then both good ones are announced again, and the bad one is reported by id and why
    assert count == 2
    assert [event.order_id for event in events.published] == [first.order_id, last.order_id]
    (unreadable,) = reported
    assert unreadable.order_id == bad.order_id
    assert_names_the_field_not_the_value(unreadable)


def test_a_listing_leaves_an_unreadable_order_out_names_it_and_pages_on_to_the_others(store: Store) -> None:
    # Given a customer's four orders, the newest and the second oldest unreadable
    customer = f"c-{uuid.uuid4().hex[:8]}"
    oldest, bad, newer, newest = (an_order(customer, datetime(2026, 2, 1, m, tzinfo=UTC)) for m in (1, 2, 3, 4))
    store.repository.add(oldest)
    store.store_unreadable(bad)
    store.repository.add(newer)
    store.store_unreadable(newest)

    # When the customer's orders are listed one a page
    listed: list[str] = []
    skipped: list[UnreadableOrder] = []
    token: str | None = None
    for _ in range(10):
        page = store.repository.list_by_customer(customer, 1, token)
        listed += [order.order_id for order in page.orders]
        skipped += page.unreadable
        token = page.next_token
        if token is None:
            break

    # Then every readable order is listed, newest first, and each unreadable one is named once
    assert listed == [newer.order_id, oldest.order_id]
    assert [order.order_id for order in skipped] == [newest.order_id, bad.order_id]
    for unreadable in skipped:
        assert_names_the_field_not_the_value(unreadable)


# --- in the running functions (DynamoDB store) --------------------------------------------------

SWEEPER = "SweepStalledOrdersFunction"


@pytest.fixture
def unreadable_in_the_stack(stack: LocalStack) -> Iterator[Callable[[Order], None]]:
    client, table = stack.client("dynamodb"), stack.resources.tables["OrdersTable"]
    stored: list[str] = []

    def put(order: Order) -> None:
        item: Any = to_item(order)
        item["items"]["L"][0]["M"]["sku"] = {"S": BAD_SKU}
        client.put_item(TableName=table, Item=item)
        stored.append(order.order_id)

    yield put
    for order_id in stored:
        client.delete_item(TableName=table, Key=order_key(order_id))
    # The announcer set each aside as it was stored: those messages go too, so that no other
    # test finds them on the queue.
    assert stack.wait_until_idle(timeout=60)
    sqs, queue = stack.client("sqs"), stack.resources.queue_urls["UnannouncedChangesQueue"]
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            if json.loads(message["Body"]).get("order_id") in stored:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if all(json.loads(message["Body"]).get("order_id") not in stored for message in messages):
            break


def metric_total(stack: LocalStack, function: str, name: str) -> int:
    """A metric summed over the function's EMF lines, as CloudWatch would."""
    total = 0
    for line in stack.logs.lines:
        if line.function == function and '"_aws"' in line.text:
            value = json.loads(line.text).get(name, 0)
            total += int(sum(value) if isinstance(value, list) else value)
    return total


def unreadable_lines(stack: LocalStack, function: str, order_id: str) -> list[str]:
    return [
        line.text
        for line in stack.logs.lines
        if line.function == function and "Stored order unreadable" in line.text and order_id in line.text
    ]


def test_the_sweeper_logs_and_counts_an_unreadable_pending_order_without_customer_data(
    stack: LocalStack, unreadable_in_the_stack: Callable[[Order], None]
) -> None:
    # Given an order pending for an hour whose stored item no longer reads
    assert stack.wait_until_idle(timeout=60)
    placed_at = datetime.now(UTC) - timedelta(hours=1)
    bad = an_order("c-unreadable", placed_at)
    unreadable_in_the_stack(bad)

    # When the sweeper runs on its schedule
    eventually(lambda: bool(unreadable_lines(stack, SWEEPER, bad.order_id)), timeout=60)

    # Then it logged the order's id and why, counted it, and no line of it holds the address
    (line, *_) = unreadable_lines(stack, SWEEPER, bad.order_id)
    assert "items.0.sku" in line
    assert metric_total(stack, SWEEPER, "OrderUnreadable") >= 1
    assert not [line.text for line in stack.logs.lines if line.function == SWEEPER and CUSTOMER_EMAIL in line.text]


def test_the_api_lists_the_readable_orders_of_a_customer_and_reports_the_unreadable_one(
    stack: LocalStack,
    call_api: Callable[[dict[str, Any]], ApiAnswer],
    unreadable_in_the_stack: Callable[[Order], None],
) -> None:
    # Given a customer with a good order and an unreadable one
    customer = f"c-{uuid.uuid4().hex[:8]}"
    good = an_order(customer, datetime(2026, 2, 1, 1, tzinfo=UTC))
    bad = an_order(customer, datetime(2026, 2, 1, 2, tzinfo=UTC))
    DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"]).add(good)
    unreadable_in_the_stack(bad)

    # When the customer's orders are listed
    answer = call_api(api_request("GET", "/orders", query={"customer_id": customer}))

    # Then the good one is listed, and the bad one is logged and counted, not a 5xx
    assert answer.status == 200
    assert [order["order_id"] for order in answer.body["orders"]] == [good.order_id]
    assert unreadable_lines(stack, "ApiFunction", bad.order_id)
    assert metric_total(stack, "ApiFunction", "OrderUnreadable") >= 1
