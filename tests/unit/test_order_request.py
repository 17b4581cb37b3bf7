"""What POST /orders accepts, and the field each refusal names."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from order_service.models.bounds import MAX_ITEMS_PER_ORDER, MAX_MINOR_UNITS
from order_service.models.order import PlaceOrderRequest, priced_items, request_fingerprint
from tests.builders import order_body, order_request


def failing_fields(body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        PlaceOrderRequest.model_validate(body)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_a_valid_order_is_accepted_and_priced_in_minor_units() -> None:
    request = order_request(items=[{"sku": "A", "quantity": 3, "unit_price": "0.10"}])

    assert [item.total_minor for item in priced_items(request)] == [30]


def test_a_float_price_is_refused_because_money_travels_as_decimal_strings() -> None:
    assert failing_fields(order_body(items=[{"sku": "A", "quantity": 1, "unit_price": 12.5}])) == {"items.0.unit_price"}


def test_a_quantity_given_as_a_string_or_boolean_is_refused() -> None:
    body = order_body(
        items=[
            {"sku": "A", "quantity": "2", "unit_price": "1.00"},
            {"sku": "B", "quantity": True, "unit_price": "1.00"},
        ]
    )
    assert failing_fields(body) == {"items.0.quantity", "items.1.quantity"}


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_quantities_outside_one_to_a_thousand_are_refused(quantity: int) -> None:
    assert failing_fields(order_body(items=[{"sku": "A", "quantity": quantity, "unit_price": "1.00"}])) == {
        "items.0.quantity"
    }


def test_an_order_has_at_least_one_and_at_most_fifty_items() -> None:
    assert failing_fields(order_body(items=[])) == {"items"}
    many = [{"sku": f"S{i}", "quantity": 1, "unit_price": "1.00"} for i in range(MAX_ITEMS_PER_ORDER + 1)]
    assert failing_fields(order_body(items=many)) == {"items"}


def test_an_unknown_currency_is_refused() -> None:
    assert failing_fields(order_body(currency="XYZ")) == {"currency"}


def test_a_price_with_more_decimals_than_the_currency_allows_is_refused() -> None:
    assert failing_fields(order_body(currency="JPY", items=[{"sku": "A", "quantity": 1, "unit_price": "10.5"}])) == {
        "items"
    }


def test_an_order_whose_total_would_not_fit_every_later_stage_is_refused_on_its_items() -> None:
    # 50 lines of 1,000 at the largest price: the total has 21 digits in minor units.
    largest = "999999999999.9999"
    items = [{"sku": f"S{i}", "quantity": 1000, "unit_price": largest} for i in range(MAX_ITEMS_PER_ORDER)]

    assert failing_fields(order_body(currency="CLF", items=items)) == {"items"}


@pytest.mark.parametrize(("last_price", "accepted"), [("0.0099", True), ("0.0100", False)])
def test_the_total_may_reach_the_largest_amount_and_not_one_minor_unit_more(last_price: str, accepted: bool) -> None:
    # 100 x (10^16 - 1) minor units of CLF (exponent 4) is 10^18 - 100; the last line adds 99 or 100.
    body = order_body(
        currency="CLF",
        items=[
            {"sku": "A", "quantity": 100, "unit_price": "999999999999.9999"},
            {"sku": "B", "quantity": 1, "unit_price": last_price},
        ],
    )

    if accepted:
        request = PlaceOrderRequest.model_validate(body)
        assert sum(item.total_minor for item in priced_items(request)) == MAX_MINOR_UNITS
    else:
        assert failing_fields(body) == {"items"}


@pytest.mark.parametrize(
    "address",
    [
        "josé@example.com",  # SES does not support SMTPUTF8
        "a@exämple.com",
        "a b@example.com",
        "a,b@example.com",  # not an RFC 5321 local part unless quoted
        "(note)a@example.com",
        "a..b@example.com",
        '"a@b"@example.com',
        f"{'a' * 65}@example.com",
        f"a@{'b' * 64}.com",
    ],
)
def test_an_address_ses_could_never_deliver_to_is_refused(address: str) -> None:
    assert failing_fields(order_body(customer_email=address)) == {"customer_email"}


@pytest.mark.parametrize(
    "address", ['"a.b"@example.com', '"a(b),c"@example.com', "!#$%&'*+/=?^_`{|}~-@x.co", "a+tag@sub.example.co.uk"]
)
def test_dot_atom_and_quoted_local_parts_are_accepted(address: str) -> None:
    assert order_request(customer_email=address).customer_email == address


def test_unknown_fields_and_a_client_supplied_total_are_refused() -> None:
    assert failing_fields(order_body(total="0.01")) == {"total"}


def test_an_address_without_a_domain_is_refused() -> None:
    assert failing_fields(order_body(customer_email="nobody")) == {"customer_email"}


def test_equivalent_requests_share_a_fingerprint_and_different_ones_do_not() -> None:
    first = order_request(
        customer_id="c", customer_email="a@example.com", items=[{"sku": "A", "quantity": 1, "unit_price": "12.5"}]
    )
    same = order_request(
        customer_id="c", customer_email="a@example.com", items=[{"sku": "A", "quantity": 1, "unit_price": "12.50"}]
    )
    other = order_request(
        customer_id="c", customer_email="a@example.com", items=[{"sku": "A", "quantity": 2, "unit_price": "12.50"}]
    )

    assert request_fingerprint(first) == request_fingerprint(same)
    assert request_fingerprint(first) != request_fingerprint(other)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@given(body=st.dictionaries(st.sampled_from(["customer_id", "customer_email", "currency", "items", "x"]), json_values))
def test_any_json_object_is_either_a_valid_order_or_refused_with_named_fields(body: dict[str, Any]) -> None:
    errors: list[Any] = []
    try:
        request = PlaceOrderRequest.model_validate(body)
    except ValidationError as error:
        errors = error.errors()

    if errors:
        assert all(isinstance(issue["loc"], tuple) and issue["msg"] for issue in errors)
    else:
        assert sum(item.total_minor for item in priced_items(request)) >= 0


def test_a_refused_address_is_told_what_an_address_must_be_not_the_pattern() -> None:
    with pytest.raises(ValidationError) as caught:
        PlaceOrderRequest.model_validate(order_body(customer_email="josé@example.com"))

    (issue,) = caught.value.errors()
    assert issue["loc"] == ("customer_email",)
    assert issue["msg"].startswith("must be an e-mail address SES can send to")
    assert "^(?:" not in issue["msg"]
