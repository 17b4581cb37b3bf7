"""Why a stored order does not read, said without any of its values."""

from typing import Any

import pytest

from order_service.adapters.dynamodb_items import from_item, to_item
from order_service.adapters.unreadable import read_order
from order_service.ports import UnreadableOrder
from order_service.services.order_lifecycle import place_order
from tests.builders import order_request
from tests.fakes import InMemoryOrders, SteppingClock

SECRET = "customer-data@example.com"


def a_stored_item() -> dict[str, Any]:
    return dict(to_item(place_order(order_request(), orders=InMemoryOrders(), clock=SteppingClock()).order))


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda item: item.pop("customer_email"), "KeyError: customer_email missing"),
        (lambda item: item.update(total_minor={"N": SECRET}), "ValueError"),
        (lambda item: item.update(status={"S": SECRET}), "ValueError"),
        (lambda item: item.update(currency={"S": SECRET}), "ValidationError: currency: string_too_long"),
    ],
)
def test_an_order_that_does_not_read_is_named_with_its_fields_and_error_types_only(break_it: Any, reason: str) -> None:
    item = a_stored_item()
    break_it(item)

    read = read_order("o-1", lambda: from_item(item))

    assert read == UnreadableOrder(order_id="o-1", reason=reason)
    assert SECRET not in read.reason
