"""The DynamoDB order repository against the emulator, over the real DynamoDB protocol."""

import contextlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from orders_local.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.ports import (
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderNotFoundError,
    TransitionConflictError,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def repository(stack: LocalStack) -> DynamoDbOrderRepository:
    return DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])


def an_order(customer_id: str = "c-repo", minutes: int = 0) -> Order:
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id=customer_id,
        customer_email="repo@example.com",
        currency="KWD",
        items=(LineItem(sku="A", quantity=3, unit_price_minor=1234),),
        total_minor=3702,
        status=OrderStatus.PENDING,
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
        request_fingerprint="f" * 64,
    )


def test_a_stored_order_reads_back_identical(repository: DynamoDbOrderRepository) -> None:
    order = an_order()

    repository.add(order)

    assert repository.get(order.order_id) == order


def test_a_second_order_with_the_same_id_is_refused(repository: DynamoDbOrderRepository) -> None:
    order = an_order()
    repository.add(order)

    with pytest.raises(OrderAlreadyExistsError):
        repository.add(order.model_copy(update={"total_minor": 1}))
    assert repository.get(order.order_id) == order


def test_a_guarded_transition_moves_the_status_once(repository: DynamoDbOrderRepository) -> None:
    order = an_order()
    repository.add(order)

    done = repository.transition(
        order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.REJECTED, reason="too big", at=T0
    )

    assert (done.status, done.reason, done.version) == (OrderStatus.REJECTED, "too big", 2)
    with pytest.raises(TransitionConflictError) as conflict:
        repository.transition(
            order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0
        )
    assert conflict.value.current == done


def test_concurrent_transitions_of_one_order_let_exactly_one_win(repository: DynamoDbOrderRepository) -> None:
    order = an_order()
    repository.add(order)
    barrier = threading.Barrier(6)
    wins: list[OrderStatus] = []

    def attempt(target: OrderStatus) -> None:
        barrier.wait()
        with contextlib.suppress(TransitionConflictError):
            wins.append(
                repository.transition(
                    order.order_id, expected=OrderStatus.PENDING, new=target, reason=None, at=T0
                ).status
            )

    targets = [OrderStatus.COMPLETED, OrderStatus.CANCELLED] * 3
    threads = [threading.Thread(target=attempt, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1
    stored = repository.get(order.order_id)
    assert stored is not None
    assert (stored.status, stored.version) == (wins[0], 2)


def test_transitioning_an_unknown_order_raises_not_found(repository: DynamoDbOrderRepository) -> None:
    with pytest.raises(OrderNotFoundError):
        repository.transition("nope", expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0)


def test_listing_queries_the_customer_index_and_never_scans(
    stack: LocalStack, repository: DynamoDbOrderRepository
) -> None:
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


@pytest.mark.parametrize("token", ["not-base64!", "e30=", "W10="])
def test_a_forged_page_token_is_refused(repository: DynamoDbOrderRepository, token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        repository.list_by_customer("c-repo", 2, token)
