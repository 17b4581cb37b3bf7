"""Re-announcing orders left pending, against in-memory ports."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from order_service.models.order import Order, OrderStatus
from order_service.ports import PublishError
from order_service.services.order_lifecycle import cancel_order, place_order, process_order
from order_service.services.rules import OrderRules
from order_service.services.stalled_orders import reannounce_stalled_orders
from tests.builders import order_request
from tests.fakes import InMemoryOrders, RecordingPublisher

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AGE = timedelta(minutes=15)
RULES = OrderRules(max_totals={"EUR": Decimal("100.00")})


def placed(orders: InMemoryOrders, minutes_ago: float) -> Order:
    at = NOW - timedelta(minutes=minutes_ago)
    return place_order(order_request(), orders=orders, clock=lambda: at).order


def sweep(orders: InMemoryOrders, events: RecordingPublisher, *, limit: int = 100) -> int:
    return reannounce_stalled_orders(orders=orders, events=events, clock=lambda: NOW, older_than=AGE, limit=limit)


def test_an_order_pending_past_the_age_is_announced_again() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    stalled = placed(orders, minutes_ago=16)

    count = sweep(orders, events)

    assert count == 1
    (event,) = events.published
    assert (event.order_id, event.placed_at) == (stalled.order_id, stalled.created_at)


def test_an_order_younger_than_the_age_is_left_alone() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    placed(orders, minutes_ago=14)

    count = sweep(orders, events)

    assert count == 0
    assert events.published == []


def test_decided_and_cancelled_orders_are_never_announced_again() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    decided = placed(orders, minutes_ago=60)
    process_order(decided.order_id, orders=orders, rules=RULES, clock=lambda: NOW)
    cancelled = placed(orders, minutes_ago=60)
    cancel_order(cancelled.order_id, orders=orders, clock=lambda: NOW)

    count = sweep(orders, events)

    assert count == 0
    assert events.published == []


def test_a_run_announces_at_most_its_limit_oldest_first() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    by_age = [placed(orders, minutes_ago=minutes) for minutes in (20, 90, 45, 30)]

    count = sweep(orders, events, limit=2)

    assert count == 2
    assert [event.order_id for event in events.published] == [by_age[1].order_id, by_age[2].order_id]


def test_a_sweep_with_no_time_left_stops_before_the_next_order() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    for minutes in (20, 30, 40):
        placed(orders, minutes_ago=minutes)
    calls = iter([True, False])

    count = reannounce_stalled_orders(
        orders=orders, events=events, clock=lambda: NOW, older_than=AGE, limit=10, time_left=lambda: next(calls)
    )

    assert count == 1
    assert len(events.published) == 1


def test_a_refused_announcement_stops_the_sweep_and_is_raised() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    oldest = placed(orders, minutes_ago=40)
    placed(orders, minutes_ago=30)
    placed(orders, minutes_ago=20)
    reported: list[Order] = []

    def bus_goes_down_after(order: Order) -> None:
        reported.append(order)
        events.fail = True

    with pytest.raises(PublishError):
        reannounce_stalled_orders(
            orders=orders,
            events=events,
            clock=lambda: NOW,
            older_than=AGE,
            limit=10,
            on_reannounced=bus_goes_down_after,
        )

    assert reported == [oldest]
    assert [event.order_id for event in events.published] == [oldest.order_id]


def test_a_stalled_order_announced_twice_is_decided_once() -> None:
    orders, events = InMemoryOrders(), RecordingPublisher()
    stalled = placed(orders, minutes_ago=30)
    sweep(orders, events)

    # The lost first announcement turns up late, next to the sweep's.
    outcomes = [
        process_order(event.order_id, orders=orders, rules=RULES, clock=lambda: NOW)
        for event in [*events.published, *events.published]
    ]

    assert [outcome.transitioned for outcome in outcomes] == [True, False]
    assert orders.orders[stalled.order_id].status is OrderStatus.COMPLETED
    assert orders.transitions == 1
    assert sweep(orders, RecordingPublisher()) == 0
