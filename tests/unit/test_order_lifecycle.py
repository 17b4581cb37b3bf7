"""The order service against in-memory ports."""

import threading
from decimal import Decimal

import pytest

from order_service.models.order import OrderStatus
from order_service.ports import OrderNotFoundError
from order_service.services.order_lifecycle import (
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    cancel_order,
    get_order,
    list_orders,
    place_order,
    process_order,
)
from order_service.services.rules import OrderRules
from tests.builders import order_request
from tests.fakes import InMemoryOrders, SteppingClock

RULES = OrderRules(max_totals={"EUR": Decimal("100.00"), "JPY": Decimal("10000")})


def test_placing_an_order_stores_it_pending_with_the_total_computed_by_the_service() -> None:
    orders = InMemoryOrders()

    placed = place_order(order_request(), orders=orders, clock=SteppingClock())

    stored = orders.orders[placed.order.order_id]
    assert stored.status is OrderStatus.PENDING
    assert stored.total_minor == 2 * 1250 + 305
    assert stored.total == "28.05"
    assert not placed.replayed


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order_and_stores_no_second() -> None:
    orders, request = InMemoryOrders(), order_request()

    first = place_order(request, orders=orders, clock=SteppingClock(), idempotency_key="key-1")
    again = place_order(request, orders=orders, clock=SteppingClock(), idempotency_key="key-1")

    assert again.order == first.order
    assert again.replayed
    assert len(orders.orders) == 1


def test_the_same_idempotency_key_with_a_different_request_is_refused() -> None:
    orders = InMemoryOrders()
    request = order_request()
    place_order(request, orders=orders, clock=SteppingClock(), idempotency_key="key-1")

    changed = request.model_copy(update={"currency": "USD"})
    with pytest.raises(IdempotencyKeyReusedError):
        place_order(changed, orders=orders, clock=SteppingClock(), idempotency_key="key-1")
    assert len(orders.orders) == 1


def test_idempotency_keys_of_different_customers_do_not_collide() -> None:
    orders = InMemoryOrders()

    place_order(order_request(customer_id="a"), orders=orders, clock=SteppingClock(), idempotency_key="same")
    place_order(order_request(customer_id="b"), orders=orders, clock=SteppingClock(), idempotency_key="same")

    assert len(orders.orders) == 2


def test_getting_an_unknown_order_raises_not_found() -> None:
    with pytest.raises(OrderNotFoundError):
        get_order("missing", orders=InMemoryOrders())


def test_processing_a_pending_order_completes_it_with_exactly_one_update() -> None:
    orders = InMemoryOrders()
    order = place_order(order_request(), orders=orders, clock=SteppingClock()).order

    outcome = process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock())

    assert outcome.transitioned
    assert outcome.order.status is OrderStatus.COMPLETED
    assert orders.transitions == 1


def test_an_order_over_the_limit_is_rejected_with_the_reason() -> None:
    orders = InMemoryOrders()
    big = order_request(items=[{"sku": "TV", "quantity": 1, "unit_price": "100.01"}])
    order = place_order(big, orders=orders, clock=SteppingClock()).order

    outcome = process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock())

    assert outcome.order.status is OrderStatus.REJECTED
    assert outcome.order.reason == "total 100.01 EUR exceeds the maximum of 100.00 EUR"


def test_an_order_in_an_unsupported_currency_is_rejected() -> None:
    orders = InMemoryOrders()
    order = place_order(order_request(currency="GBP"), orders=orders, clock=SteppingClock()).order

    outcome = process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock())

    assert (outcome.order.status, outcome.order.reason) == (OrderStatus.REJECTED, "currency GBP is not supported")


def test_processing_the_same_order_twice_transitions_once() -> None:
    orders = InMemoryOrders()
    order = place_order(order_request(), orders=orders, clock=SteppingClock()).order

    first = process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock())
    second = process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock())

    assert (first.transitioned, second.transitioned) == (True, False)
    assert orders.transitions == 1


def test_concurrent_processing_of_the_same_order_transitions_once() -> None:
    orders = InMemoryOrders()
    order = place_order(order_request(), orders=orders, clock=SteppingClock()).order
    barrier = threading.Barrier(8)
    outcomes = []

    def deliver() -> None:
        barrier.wait()
        outcomes.append(process_order(order.order_id, orders=orders, rules=RULES, clock=SteppingClock()))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(outcome.transitioned for outcome in outcomes) == 1
    assert orders.transitions == 1


def test_a_pending_order_can_be_cancelled_once() -> None:
    orders = InMemoryOrders()
    order = place_order(order_request(), orders=orders, clock=SteppingClock()).order

    cancelled = cancel_order(order.order_id, orders=orders, clock=SteppingClock())

    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(InvalidTransitionError, match="is cancelled; it cannot become cancelled"):
        cancel_order(order.order_id, orders=orders, clock=SteppingClock())


def test_a_decided_order_cannot_be_cancelled_and_a_cancelled_one_is_not_processed() -> None:
    orders = InMemoryOrders()
    decided = place_order(order_request(), orders=orders, clock=SteppingClock()).order
    process_order(decided.order_id, orders=orders, rules=RULES, clock=SteppingClock())
    cancelled = place_order(order_request(), orders=orders, clock=SteppingClock()).order
    cancel_order(cancelled.order_id, orders=orders, clock=SteppingClock())

    with pytest.raises(InvalidTransitionError):
        cancel_order(decided.order_id, orders=orders, clock=SteppingClock())
    outcome = process_order(cancelled.order_id, orders=orders, rules=RULES, clock=SteppingClock())
    assert (outcome.transitioned, outcome.order.status) == (False, OrderStatus.CANCELLED)


def test_cancelling_an_unknown_order_raises_not_found() -> None:
    with pytest.raises(OrderNotFoundError):
        cancel_order("missing", orders=InMemoryOrders(), clock=SteppingClock())


def test_listing_pages_through_a_customers_orders_newest_first() -> None:
    orders, clock = InMemoryOrders(), SteppingClock()
    placed = [place_order(order_request(customer_id="c1"), orders=orders, clock=clock).order for _ in range(5)]
    place_order(order_request(customer_id="someone-else"), orders=orders, clock=clock)

    first = list_orders("c1", limit=3, page_token=None, orders=orders)
    second = list_orders("c1", limit=3, page_token=first.next_token, orders=orders)

    assert [order.order_id for order in first.orders + second.orders] == [order.order_id for order in reversed(placed)]
    assert second.next_token is None
