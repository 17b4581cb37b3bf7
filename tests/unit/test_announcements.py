"""What each stored change announces."""

import pytest

from order_service.models.events import NotificationKind
from order_service.models.order import OrderStatus
from order_service.ports import OrderChange, PublishError
from order_service.services.announcements import Announcement, announce
from order_service.services.order_lifecycle import place_order
from tests.builders import order_request
from tests.fakes import InMemoryOrders, RecordingPublisher, RecordingQueue, SteppingClock


def new_order() -> OrderChange:
    order = place_order(order_request(), orders=InMemoryOrders(), clock=SteppingClock()).order
    return OrderChange(before=None, after=order)


def test_a_new_order_is_announced_as_order_placed_without_the_customer_email() -> None:
    change, events, queue = new_order(), RecordingPublisher(), RecordingQueue()

    assert announce(change, events=events, notifications=queue) is Announcement.ORDER_PLACED

    (event,) = events.published
    detail = event.model_dump(by_alias=True, mode="json")
    assert detail["orderId"] == change.after.order_id
    assert detail["total"] == "28.05"
    assert change.after.customer_email not in str(detail)
    assert queue.queued == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (OrderStatus.COMPLETED, NotificationKind.ORDER_COMPLETED),
        (OrderStatus.REJECTED, NotificationKind.ORDER_REJECTED),
        (OrderStatus.CANCELLED, NotificationKind.ORDER_CANCELLED),
    ],
)
def test_a_final_status_queues_one_notification_with_a_stable_id(status: OrderStatus, kind: NotificationKind) -> None:
    before = new_order().after
    after = before.model_copy(update={"status": status, "version": 2})
    queue = RecordingQueue()

    announce(OrderChange(before, after), events=RecordingPublisher(), notifications=queue)
    announce(OrderChange(before, after), events=RecordingPublisher(), notifications=queue)

    assert [(n.kind, n.notification_id) for n in queue.queued] == [(kind, f"{after.order_id}:{status.value}")] * 2


def test_a_change_that_keeps_the_status_announces_nothing() -> None:
    before = new_order().after
    after = before.model_copy(update={"version": 2})
    events, queue = RecordingPublisher(), RecordingQueue()

    assert announce(OrderChange(before, after), events=events, notifications=queue) is Announcement.NOTHING
    assert (events.published, queue.queued) == ([], [])


def test_a_bus_failure_is_raised_so_the_change_is_retried() -> None:
    with pytest.raises(PublishError):
        announce(new_order(), events=RecordingPublisher(fail=True), notifications=RecordingQueue())
