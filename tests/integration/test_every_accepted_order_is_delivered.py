"""Accepted means delivered: every order the API answers 201 travels the whole pipeline.

Hypothesis generates valid orders out to the extremes of every bound (items, quantities,
price digits, the total, string lengths) in currencies of every exponent (0, 2, 3, 4), sends
them over HTTP through the real handlers against the emulator, on both stores, and checks
that each reaches a final state with exactly one notification. An order the API refuses must
be refused for the one bound a generator cannot respect on its own: the total.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from orders_local.stack import OrderStack, OrderStackOptions, StoreKind

from order_service.models.bounds import (
    AMOUNT_INTEGER_DIGITS,
    EMAIL_DOMAIN_LABEL_MAX_LENGTH,
    EMAIL_LOCAL_PART_MAX_LENGTH,
    ID_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_ITEMS_PER_ORDER,
    MAX_MINOR_UNITS,
    MAX_QUANTITY,
)
from order_service.models.currencies import minor_unit_exponent
from order_service.models.money import format_minor_units
from tests.strategies import WORD, addresses, text_of

# Supported with the largest total the bounds allow (so the extremes complete), plus EUR with
# a real limit (so some are rejected over it); any other currency is rejected as unsupported.
SUPPORTED = {
    "JPY": format_minor_units(MAX_MINOR_UNITS, "JPY"),
    "KWD": format_minor_units(MAX_MINOR_UNITS, "KWD"),
    "CLF": format_minor_units(MAX_MINOR_UNITS, "CLF"),
    "EUR": "10000.00",
}
CURRENCIES = ["JPY", "ISK", "EUR", "CHF", "KWD", "BHD", "CLF", "UYW"]  # exponents 0, 0, 2, 2, 3, 3, 4, 4
FINAL = {"completed", "rejected", "cancelled"}


@pytest.fixture(scope="module", params=["dynamodb", "postgres"])
def pipeline(request: pytest.FixtureRequest) -> Iterator[OrderStack]:
    store: StoreKind = request.param
    options = OrderStackOptions(
        runner="in-process",
        stack_name=f"every-{store}",
        time_scale=0.01,
        store=store,
        parameters={"MaxOrderTotals": json.dumps(SUPPORTED)},
    )
    if store == "postgres":
        options.database_url = request.getfixturevalue("postgres_server")
    with OrderStack(options) as stack:
        yield stack


@st.composite
def prices(draw: st.DrawFn, currency: str) -> str:
    digits = draw(st.sampled_from([1, AMOUNT_INTEGER_DIGITS]) | st.integers(1, AMOUNT_INTEGER_DIGITS))
    whole = "0" if digits == 1 and draw(st.booleans()) else draw(st.sampled_from("123456789")) + "9" * (digits - 1)
    exponent = minor_unit_exponent(currency)
    fraction_digits = draw(st.integers(0, exponent))
    fraction = draw(st.text("0123456789", min_size=fraction_digits, max_size=fraction_digits))
    return f"{whole}.{fraction}" if fraction else whole


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.sampled_from([1, MAX_ITEMS_PER_ORDER]) | st.integers(1, MAX_ITEMS_PER_ORDER))
    items = [
        {
            "sku": draw(st.sampled_from("ABZ09")) + draw(text_of(WORD + "._-", 0, ID_MAX_LENGTH - 1)),
            "quantity": draw(st.sampled_from([1, MAX_QUANTITY]) | st.integers(1, MAX_QUANTITY)),
            "unit_price": draw(prices(currency)),
        }
        for _ in range(count)
    ]
    return {
        "customer_id": draw(text_of(WORD + "_-", 1, ID_MAX_LENGTH)),
        "customer_email": draw(addresses()),
        "currency": currency,
        "items": items,
    }


@st.composite
def idempotency_keys(draw: st.DrawFn) -> str:
    """Up to the longest key, each unique: a key reused with another order is (rightly) a 422."""
    printable = "".join(chr(code) for code in range(0x21, 0x7F))
    return uuid.uuid4().hex + draw(text_of(printable, 0, IDEMPOTENCY_KEY_MAX_LENGTH - 32))


def total_minor(body: dict[str, Any]) -> int:
    exponent = minor_unit_exponent(body["currency"])
    return sum(item["quantity"] * int(Decimal(item["unit_price"]).scaleb(exponent)) for item in body["items"])


def eventually(check: Callable[[], Any], stack: OrderStack, order_id: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            failures = [
                line.text for line in stack.logs.lines if "Record failed" in line.text or "set aside" in line.text
            ]
            raise AssertionError(f"order {order_id} did not reach its end in time; failures seen: {failures[-3:]}")
        time.sleep(0.1)


_LARGEST = {
    "customer_id": "C" * ID_MAX_LENGTH,
    "customer_email": f"{'q' * EMAIL_LOCAL_PART_MAX_LENGTH}@{'d' * EMAIL_DOMAIN_LABEL_MAX_LENGTH}.example.com",
    "currency": "CLF",
    "items": [{"sku": "Z" * ID_MAX_LENGTH, "quantity": 100, "unit_price": "999999999999.9999"}]
    + [{"sku": f"S{i}", "quantity": 1, "unit_price": "0.0001"} for i in range(MAX_ITEMS_PER_ORDER - 2)]
    + [{"sku": "LAST", "quantity": 1, "unit_price": "0.0051"}],
}


# Each example runs the whole pipeline (seconds): shrinking a failure would take many minutes,
# so a failing example is reported as generated.
@settings(
    max_examples=20,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=orders(), key=st.none() | idempotency_keys())
@example(body=_LARGEST, key="k" * IDEMPOTENCY_KEY_MAX_LENGTH)
@example(
    body={
        "customer_id": "c",
        "customer_email": '"q.(x)"@a.co',
        "currency": "JPY",
        "items": [{"sku": "A", "quantity": MAX_QUANTITY, "unit_price": "9" * AMOUNT_INTEGER_DIGITS}]
        * MAX_ITEMS_PER_ORDER,
    },
    key=None,
)
# Python 3.13's strict address parser finds no address in this one: the emulator must still send it.
@example(
    body={
        "customer_id": "c",
        "customer_email": '"a[b"@x.co',
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "1.50"}],
    },
    key=None,
)
def test_every_order_the_api_accepts_reaches_a_final_state_with_exactly_one_notification(
    pipeline: OrderStack, body: dict[str, Any], key: str | None
) -> None:
    client = pipeline.api_client()
    headers = {} if key is None else {"Idempotency-Key": key}

    answer = client.request("POST", "/orders", body, headers)

    if total_minor(body) > MAX_MINOR_UNITS:
        assert answer.status == 400, answer.body
        assert [error["field"] for error in answer.body["errors"]] == ["body.items"]
        return
    assert answer.status == 201, answer.body
    order_id = answer.body["order_id"]

    def final_status() -> str | None:
        status = str(client.request("GET", f"/orders/{order_id}").body["status"])
        return status if status in FINAL else None

    def emails() -> list[Any]:
        return [email for email in pipeline.emulator.middleware.sent_emails if order_id in email.subject]

    status = eventually(final_status, pipeline, order_id)
    (email,) = eventually(emails, pipeline, order_id)
    assert pipeline.wait_until_idle(timeout=30, settle=0.3)
    assert len(emails()) == 1
    assert email.recipient == body["customer_email"]
    assert status == expected_status(body)


def expected_status(body: dict[str, Any]) -> str:
    limit = SUPPORTED.get(body["currency"])
    if limit is None:
        return "rejected"
    return (
        "rejected"
        if total_minor(body) > int(Decimal(limit).scaleb(minor_unit_exponent(body["currency"])))
        else "completed"
    )
