"""The api function, driven by API Gateway REST proxy events."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import order_body
from tests.events import api_request
from tests.integration.conftest import ApiAnswer

CallApi = Callable[[dict[str, Any]], ApiAnswer]


def place(call_api: CallApi, body: Any, **options: Any) -> ApiAnswer:
    return call_api(api_request("POST", "/orders", body=body, **options))


def fields_of(answer: ApiAnswer) -> set[str]:
    return {error["field"] for error in answer.body["errors"]}


def test_a_valid_order_is_created_pending_with_a_server_computed_total(call_api: CallApi) -> None:
    answer = place(call_api, order_body())

    assert answer.status == 201
    assert answer.body["status"] == "pending"
    assert answer.body["total"] == "28.05"
    assert answer.body["items"][0] == {"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50", "line_total": "25.00"}


def test_a_base64_encoded_body_is_decoded(call_api: CallApi) -> None:
    answer = place(call_api, order_body(), base64_body=True)

    assert answer.status == 201


def test_an_invalid_payload_answers_400_naming_each_failing_field(call_api: CallApi) -> None:
    body = order_body(customer_email="not-an-address", items=[{"sku": "A", "quantity": 0, "unit_price": "1.00"}])

    answer = place(call_api, body)

    assert answer.status == 400
    assert fields_of(answer) == {"body.customer_email", "body.items.0.quantity"}


def test_a_body_that_is_not_json_answers_400(call_api: CallApi) -> None:
    answer = call_api(api_request("POST", "/orders", raw_body="{not json"))

    assert answer.status == 400
    assert fields_of(answer) == {"body.1"}


def test_error_bodies_do_not_echo_the_customer_email(call_api: CallApi) -> None:
    answer = place(call_api, order_body(customer_email="leak@example.com", currency="XX"))

    assert answer.status == 400
    assert "leak@example.com" not in json.dumps(answer.body)


def test_an_order_can_be_read_back_and_an_unknown_id_is_404(call_api: CallApi) -> None:
    created = place(call_api, order_body()).body
    order_id = created["order_id"]

    found = call_api(
        api_request("GET", f"/orders/{order_id}", resource="/orders/{order_id}", path_parameters={"order_id": order_id})
    )
    missing = call_api(
        api_request("GET", "/orders/nope", resource="/orders/{order_id}", path_parameters={"order_id": "nope"})
    )

    assert (found.status, found.body["order_id"]) == (200, order_id)
    assert missing.status == 404


def test_a_customers_orders_are_listed_in_pages_newest_first(call_api: CallApi) -> None:
    customer = order_body()["customer_id"]
    ids = [place(call_api, order_body(customer_id=customer)).body["order_id"] for _ in range(3)]

    first = call_api(api_request("GET", "/orders", query={"customer_id": customer, "limit": "2"}))
    second = call_api(
        api_request(
            "GET", "/orders", query={"customer_id": customer, "limit": "2", "next_token": first.body["next_token"]}
        )
    )

    listed = [order["order_id"] for order in first.body["orders"] + second.body["orders"]]
    assert listed == list(reversed(ids))


def test_a_page_token_of_another_customer_is_refused(call_api: CallApi) -> None:
    mine = order_body()["customer_id"]
    for _ in range(2):
        place(call_api, order_body(customer_id=mine))
    token = call_api(api_request("GET", "/orders", query={"customer_id": mine, "limit": "1"})).body["next_token"]

    answer = call_api(api_request("GET", "/orders", query={"customer_id": "someone-else", "next_token": token}))

    assert answer.status == 400
    assert fields_of(answer) == {"query.next_token"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"customer_id": "c", "limit": "0"}, "query.limit"),
        ({"limit": "5"}, "query.customer_id"),
        ({"customer_id": "c", "next_token": "%%%"}, "query.next_token"),
    ],
)
def test_bad_list_parameters_answer_400_naming_the_parameter(
    call_api: CallApi, query: dict[str, str], field: str
) -> None:
    answer = call_api(api_request("GET", "/orders", query=query))

    assert answer.status == 400
    assert fields_of(answer) == {field}


def test_a_pending_order_is_cancelled_and_a_second_cancel_is_409(call_api: CallApi) -> None:
    order_id = place(call_api, order_body()).body["order_id"]

    def cancel() -> ApiAnswer:
        return call_api(
            api_request(
                "POST",
                f"/orders/{order_id}/cancel",
                resource="/orders/{order_id}/cancel",
                path_parameters={"order_id": order_id},
            )
        )

    first, second = cancel(), cancel()

    assert (first.status, first.body["status"]) == (200, "cancelled")
    assert (second.status, second.body["current_status"]) == (409, "cancelled")


def test_a_retry_with_the_same_idempotency_key_returns_the_same_order_and_stores_one(call_api: CallApi) -> None:
    body = order_body()

    first = place(call_api, body, headers={"Idempotency-Key": "retry-me"})
    again = place(call_api, body, headers={"idempotency-key": "retry-me"})

    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    listed = call_api(api_request("GET", "/orders", query={"customer_id": body["customer_id"]})).body["orders"]
    assert [order["order_id"] for order in listed] == [first.body["order_id"]]


def test_the_same_idempotency_key_with_a_different_body_is_422(call_api: CallApi) -> None:
    body = order_body()
    place(call_api, body, headers={"Idempotency-Key": "once"})

    answer = place(call_api, {**body, "currency": "USD"}, headers={"Idempotency-Key": "once"})

    assert answer.status == 422
    assert fields_of(answer) == {"header.Idempotency-Key"}


def test_the_openapi_document_describes_every_route(call_api: CallApi) -> None:
    answer = call_api(api_request("GET", "/openapi.json"))

    assert answer.status == 200
    assert set(answer.body["paths"]) == {"/orders", "/orders/{order_id}", "/orders/{order_id}/cancel"}
    assert "PlaceOrderRequest" in answer.body["components"]["schemas"]


valid_item = st.fixed_dictionaries(
    {
        "sku": st.from_regex(r"[A-Z][A-Z0-9-]{0,10}", fullmatch=True),
        "quantity": st.integers(1, 1000),
        "unit_price": st.from_regex(r"[1-9][0-9]{0,4}\.[0-9]{2}", fullmatch=True),
    }
)
junk = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.lists(st.integers(), max_size=3)
)


@st.composite
def order_bodies(draw: st.DrawFn) -> Any:
    """Mostly-valid orders with some fields replaced, removed or added, plus arbitrary JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.recursive(
                junk,
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                max_leaves=10,
            )
        )
    body: dict[str, Any] = {
        "customer_id": draw(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True)),
        "customer_email": "buyer@example.com",
        "currency": draw(st.sampled_from(["EUR", "JPY", "KWD", "USD"])),
        "items": draw(st.lists(valid_item, min_size=1, max_size=3)),
    }
    for field in draw(st.lists(st.sampled_from([*body, "extra"]), max_size=2, unique=True)):
        action = draw(st.sampled_from(["drop", "junk"]))
        if action == "drop":
            body.pop(field, None)
        else:
            body[field] = draw(junk)
    return body


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=order_bodies())
def test_any_json_body_gets_201_or_a_4xx_with_field_errors_and_never_a_5xx(call_api: CallApi, body: Any) -> None:
    answer = place(call_api, body)

    assert answer.status == 201 or 400 <= answer.status < 500, answer
    if answer.status != 201:
        assert answer.body["errors"], answer.body
        assert all(error["field"] for error in answer.body["errors"])


def test_the_snapstart_hook_warms_every_route_without_touching_aws(stack: Any) -> None:
    import importlib

    import snapshot_restore_py

    api = importlib.import_module("order_service.handlers.api")
    table_operations = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem")

    def table_calls() -> int:
        return sum(stack.emulator.middleware.calls[operation] for operation in table_operations)

    before = table_calls()
    api.warm_before_snapshot()

    assert api.warm_before_snapshot in [entry[0] for entry in snapshot_restore_py.get_before_snapshot()]
    assert table_calls() == before


def test_a_body_that_is_not_utf8_text_answers_400(call_api: CallApi) -> None:
    import base64

    event = api_request("POST", "/orders", raw_body=base64.b64encode(b"\xb9\xff\x00").decode())
    event["isBase64Encoded"] = True

    answer = call_api(event)

    assert answer.status == 400
    assert fields_of(answer) == {"body"}
