"""No request gets a 5xx: whatever a client sends, the API answers a 2xx or a 4xx, and every
error answer has the body and status its OpenAPI document describes, on both stores.

Requests travel two ways: as API Gateway REST proxy events handed to the function (any
headers, query strings and bodies the event can carry), and over HTTP through the local API
Gateway, signed as its IAM authorizer requires (real headers, real bodies, its own 413).
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from orders_local.stack import OrderStack, OrderStackOptions, StoreKind
from samlocal import sigv4
from samlocal.sources.api_gateway import MAX_BODY_BYTES

from order_service.models.bounds import ID_MAX_LENGTH, PAGE_TOKEN_MAX_LENGTH
from tests.builders import order_body
from tests.events import api_request

STORES: list[StoreKind] = ["dynamodb", "postgres"]
# Each example is one request to a running stack: enough to meet each kind of hostile input
# several times, in a few seconds.
EVENT_EXAMPLES = 80
HTTP_EXAMPLES = 40
UNKNOWN_ORDER_ID = "6a1f4c2e-0000-4000-8000-000000000000"


def hypothesis_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    content_type: str


@pytest.fixture(scope="module", params=STORES)
def api_stack(request: pytest.FixtureRequest) -> Iterator[OrderStack]:
    store: StoreKind = request.param
    if store == "dynamodb":  # the session's stack
        yield request.getfixturevalue("stack")
        return
    options = OrderStackOptions(runner="in-process", stack_name="hostile-postgres", time_scale=0.01, store=store)
    options.database_url = request.getfixturevalue("postgres_server")
    with OrderStack(options) as stack:
        yield stack


@pytest.fixture(scope="module")
def document(api_stack: OrderStack) -> dict[str, Any]:
    """The OpenAPI document the API serves."""
    invocation = api_stack.invoke("ApiFunction", api_request("GET", "/openapi.json"))
    assert invocation.ok, invocation.error_message
    served: dict[str, Any] = json.loads(invocation.payload["body"])
    return served


def invoke(stack: OrderStack, event: dict[str, Any]) -> Answer:
    invocation = stack.invoke("ApiFunction", event)
    assert invocation.ok, f"the function failed (API Gateway answers 502): {invocation.error_message}"
    payload = invocation.payload
    headers = {name.lower(): value for name, value in (payload.get("headers") or {}).items()}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = values[-1]
    raw = payload.get("body") or ""
    return Answer(int(payload["statusCode"]), json.loads(raw) if raw else None, headers.get("content-type", ""))


def send(stack: OrderStack, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
    """Over HTTP through the local API Gateway, signed if the API wants it."""
    url = f"{stack.api_url}{path}"
    signed = sigv4.sign(method, url, headers, body) if stack.api_signed else headers
    response = requests.request(method, url, headers=signed, data=body, timeout=60)
    content_type = response.headers.get("Content-Type", "")
    return Answer(response.status_code, response.json() if response.content else None, content_type)


def assert_documented(document: dict[str, Any], method: str, template: str, answer: Answer) -> None:
    """No 5xx; an error is one of the operation's documented statuses, with the body documented
    for it (ErrorBody)."""
    assert answer.status < 500, answer
    if answer.status < 400:
        return
    responses = document["paths"][template][method.lower()]["responses"]
    assert str(answer.status) in responses, f"{answer.status} is not documented for {method} {template}: {answer}"
    assert answer.content_type.startswith("application/json"), answer
    schema = responses[str(answer.status)]["content"]["application/json"]["schema"]
    jsonschema.validate(answer.body, {**schema, "components": document["components"]})


def field_errors(answer: Answer) -> set[str]:
    return {error["field"] for error in answer.body["errors"]}


def token(document: Any) -> str:
    """A page token of the encoding the API hands out, holding whatever it is given."""
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def listing(customer_id: str, next_token: str) -> dict[str, Any]:
    return api_request("GET", "/orders", query={"customer_id": customer_id, "next_token": next_token})


# --- The cases seen answered 502 or 503 -------------------------------------------------------


def test_a_body_of_arrays_nested_1000_deep_answers_400_naming_the_body(
    api_stack: OrderStack, document: dict[str, Any]
) -> None:
    answer = invoke(api_stack, api_request("POST", "/orders", raw_body="[" * 1000 + "]" * 1000))

    assert answer.status == 400
    assert_documented(document, "POST", "/orders", answer)
    assert {field.split(".")[0] for field in field_errors(answer)} == {"body"}


def test_an_integer_of_5000_digits_answers_400(api_stack: OrderStack, document: dict[str, Any]) -> None:
    body = json.dumps(order_body()).replace('"quantity": 2', '"quantity": ' + "9" * 5000)

    answer = invoke(api_stack, api_request("POST", "/orders", raw_body=body))

    assert answer.status == 400
    assert_documented(document, "POST", "/orders", answer)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
    ],
)
def test_a_body_that_is_not_json_answers_415_naming_the_content_type(
    api_stack: OrderStack, document: dict[str, Any], content_type: str
) -> None:
    event = api_request("POST", "/orders", raw_body=json.dumps(order_body()), headers={"Content-Type": content_type})

    answer = invoke(api_stack, event)

    assert answer.status == 415
    assert_documented(document, "POST", "/orders", answer)
    assert field_errors(answer) == {"header.Content-Type"}


def test_a_json_content_type_in_capitals_with_a_charset_is_json(api_stack: OrderStack) -> None:
    event = api_request(
        "POST", "/orders", body=order_body(), headers={"Content-Type": "Application/JSON; charset=UTF-8"}
    )

    assert invoke(api_stack, event).status == 201


FORGED_TOKENS = {
    # The PostgreSQL store's shape, with a NUL in the order id (a DataError there) or a time
    # that is not one.
    "postgres-nul-order-id": token({"c": "c-forged", "t": "2026-01-01T00:00:00+00:00", "o": "\u0000"}),
    "postgres-naive-time": token({"c": "c-forged", "t": "2026-01-01T00:00:00", "o": "o-1"}),
    "postgres-numeric-time": token({"c": "c-forged", "t": 1767225600, "o": "o-1"}),
    "postgres-time-of-1500-digits": token({"c": "c-forged", "t": "9" * 1500, "o": "o-1"}),
    # The DynamoDB store's shape, with keys DynamoDB refuses as an ExclusiveStartKey.
    "dynamodb-empty-keys": token({"PK": "", "SK": "order", "GSI1PK": "customer#c-forged", "GSI1SK": ""}),
    "dynamodb-other-sort-key": token(
        {"PK": "order#o-1", "SK": "x", "GSI1PK": "customer#c-forged", "GSI1SK": "2026#o-1"}
    ),
    "dynamodb-2000-character-key": token(
        {"PK": "order#" + "o" * 2000, "SK": "order", "GSI1PK": "customer#c-forged", "GSI1SK": "#"}
    ),
    "dynamodb-typed-value": token(
        {"PK": {"S": "order#o-1"}, "SK": "order", "GSI1PK": "customer#c-forged", "GSI1SK": "t#o-1"}
    ),
    # Not a token at all.
    "arrays-1500-deep": base64.urlsafe_b64encode(b"[" * 1500).decode(),
    "nul-before-a-token": "\x00" + token({"c": "c-forged", "t": "2026-01-01T00:00:00+00:00", "o": "o-1"}),
    "not-base64": "%%%",
}


@pytest.mark.parametrize("forged", FORGED_TOKENS.values(), ids=FORGED_TOKENS.keys())
def test_a_page_token_the_api_could_not_have_issued_answers_400_naming_it(
    api_stack: OrderStack, document: dict[str, Any], forged: str
) -> None:
    answer = invoke(api_stack, listing("c-forged", forged))

    assert answer.status == 400, answer
    assert_documented(document, "GET", "/orders", answer)
    assert field_errors(answer) == {"query.next_token"}


def test_a_body_over_api_gateways_limit_answers_413_as_documented(
    api_stack: OrderStack, document: dict[str, Any]
) -> None:
    body = b'{"customer_id": "' + b"x" * MAX_BODY_BYTES + b'"}'

    answer = send(api_stack, "POST", "/orders", {"Content-Type": "application/json"}, body)

    assert answer.status == 413
    assert_documented(document, "POST", "/orders", answer)


def test_an_unknown_route_sent_to_the_function_answers_404_with_the_error_body(api_stack: OrderStack) -> None:
    answer = invoke(api_stack, api_request("GET", "/nowhere"))

    assert answer.status == 404
    assert set(answer.body) == {"message"}


# --- Hostile requests, generated ---------------------------------------------------------------


def nested(depth: int, opener: str, closer: str) -> str:
    return opener * depth + "1" + closer * depth


HOSTILE_JSON_TEXT = st.one_of(
    st.integers(1, 3000).map(lambda depth: nested(depth, "[", "]")),
    st.integers(1, 3000).map(lambda depth: nested(depth, '{"a":', "}")),
    st.integers(1, 3000).map(lambda depth: "[" * depth),  # never closed
    st.sampled_from(["1" * 4301, "-" + "9" * 10_000, "1e999999", "-1e-999999", "NaN", "Infinity", "1.5e308"]),
    st.sampled_from(['"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff\\ud800"', '"\\u00"', '"\x00"']),
    st.sampled_from(["", " ", "{", "}", "[", "null", "true", '""', "{}", "[]", "\ufeff{}", "{,}", '{"a":1,}']),
    # Giant strings, within API Gateway's 10 MB.
    st.sampled_from([10_000, 300_000, 1_000_000]).map(lambda size: '"' + "x" * size + '"'),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    ).map(json.dumps),
)


def with_member(document: dict[str, Any], name: str, text: str, *, duplicate: bool) -> str:
    """The object's JSON with the member `name` holding the JSON `text`: in place of its value,
    or as a second member of the same name after it."""
    if duplicate:
        return json.dumps(document)[:-1] + f", {json.dumps(name)}: {text}}}"
    # Only the template is scanned for the placeholder, never the text put in its place.
    return json.dumps({**document, name: "\uf8ff"}).replace('"\\uf8ff"', text, 1)


@st.composite
def hostile_order_texts(draw: st.DrawFn) -> str:
    """An order's JSON text with one member, of the order or of its first item, replaced by
    hostile JSON, given a second time, or added."""
    body = order_body(customer_id="c-hostile")
    hostile = draw(HOSTILE_JSON_TEXT)
    duplicate = draw(st.booleans())
    name = draw(st.sampled_from([*body, "extra", "items.0.sku", "items.0.quantity", "items.0.unit_price"]))
    if name.startswith("items.0."):
        item = with_member(body["items"][0], name.removeprefix("items.0."), hostile, duplicate=duplicate)
        return with_member(body, "items", f"[{item}]", duplicate=False)
    return with_member(body, name, hostile, duplicate=duplicate)


HOSTILE_BODIES = st.one_of(
    hostile_order_texts().map(str.encode),
    HOSTILE_JSON_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),  # invalid UTF-8 among it: arrives base64-encoded
    st.sampled_from([b"\xff\xfe{\x00}\x00", b'{"customer_id": "\xc3\x28"}', b"\xed\xa0\x80", b"\x00" * 64]),
    st.just(b"--x\r\nContent-Disposition: form-data; name=customer_id\r\n\r\nc\r\n--x--\r\n"),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-16",
        "application/json;;;",
        "application/jsonx",
        "application/json, text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=x",
        "multipart/mixed",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        ";",
        "*/*",
        "x" * 4000,
    ]
)
# What an HTTP client sends as it is (no CR, LF or NUL; no space at either end).
HEADER_TEXT = st.from_regex(r"[\x21-\x7e]([\x20-\x7e]{0,298}[\x21-\x7e])?", fullmatch=True)
ANY_TEXT = st.text(max_size=300) | st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 10_000])


TOKEN_MEMBERS = st.sampled_from(["c", "t", "o", "PK", "SK", "GSI1PK", "GSI1SK", "S"])
HOSTILE_TOKENS = st.one_of(
    st.text(max_size=PAGE_TOKEN_MAX_LENGTH + 10),
    st.sampled_from(list(FORGED_TOKENS.values())),
    # Token-shaped: the API's encoding of JSON objects with the members of either store's tokens.
    st.dictionaries(TOKEN_MEMBERS, ANY_TEXT | st.just("c-forged") | st.just("customer#c-forged"), max_size=5).map(
        token
    ),
    HOSTILE_JSON_TEXT.filter(lambda text: len(text) < 1500).map(
        lambda text: base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()
    ),
)


@st.composite
def hostile_events(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(method, path template, proxy event) for one of the API's routes, with hostile parts: any
    header values, several values for one header, any query string, any path parameter, any body."""
    route = draw(st.sampled_from(["place", "list", "get", "cancel"]))
    body = draw(HOSTILE_BODIES) if route == "place" or draw(st.integers(0, 4)) == 0 else b""
    headers: dict[str, list[str]] = {}
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = [content_type]
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(st.lists(ANY_TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        headers["content-type"] = draw(st.lists(ANY_TEXT | CONTENT_TYPES.filter(bool).map(str), min_size=1, max_size=2))
    for name, values in draw(
        st.dictionaries(ANY_TEXT.filter(bool), st.lists(ANY_TEXT, min_size=1), max_size=3)
    ).items():
        headers.setdefault(name, values)
    order_id = draw(st.sampled_from([UNKNOWN_ORDER_ID, "o" * (ID_MAX_LENGTH + 1), ""]) | ANY_TEXT)
    method, resource = {
        "place": ("POST", "/orders"),
        "list": ("GET", "/orders"),
        "get": ("GET", "/orders/{order_id}"),
        "cancel": ("POST", "/orders/{order_id}/cancel"),
    }[route]
    parameters = {"order_id": order_id} if "{order_id}" in resource else None
    path = resource.replace("{order_id}", order_id)
    query: dict[str, list[str]] = {}
    if route == "list":
        if draw(st.booleans()):  # so that the other parameters are what gets refused, if anything
            query["customer_id"] = ["c-forged"]
        for name in draw(st.lists(st.sampled_from(["customer_id", "limit", "next_token", "other"]), max_size=4)):
            query.setdefault(name, []).extend(
                draw(st.lists(ANY_TEXT | st.text("0123456789-e", max_size=5000) | st.just("9" * 5000), min_size=1))
            )
        if draw(st.booleans()):
            query.setdefault("next_token", []).append(draw(HOSTILE_TOKENS))
    event = api_request(method, path, resource=resource, path_parameters=parameters)
    event["headers"] = {name: values[-1] for name, values in headers.items()} or None
    event["multiValueHeaders"] = headers or None
    event["queryStringParameters"] = {name: values[-1] for name, values in query.items()} or None
    event["multiValueQueryStringParameters"] = query or None
    try:
        event["body"], event["isBase64Encoded"] = (body.decode("utf-8") or None), False
    except UnicodeDecodeError:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return method, resource, event


@hypothesis_settings(EVENT_EXAMPLES)
@given(request=hostile_events())
@example(request=("POST", "/orders", api_request("POST", "/orders", raw_body="[" * 1000 + "]" * 1000)))
def test_no_hostile_event_gets_a_5xx_and_every_error_is_documented(
    api_stack: OrderStack, document: dict[str, Any], request: tuple[str, str, dict[str, Any]]
) -> None:
    method, template, event = request

    answer = invoke(api_stack, event)

    assert_documented(document, method, template, answer)


@hypothesis_settings(HTTP_EXAMPLES)
@given(
    body=HOSTILE_BODIES,
    content_type=CONTENT_TYPES,
    idempotency_key=st.none() | HEADER_TEXT,
    extra=st.dictionaries(st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True), HEADER_TEXT, max_size=3),
)
@example(body=b"", content_type="multipart/form-data", idempotency_key=None, extra={})
def test_no_hostile_request_over_http_gets_a_5xx_and_every_error_is_documented(
    api_stack: OrderStack,
    document: dict[str, Any],
    body: bytes,
    content_type: str | None,
    idempotency_key: str | None,
    extra: dict[str, str],
) -> None:
    headers = dict(extra)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key

    answer = send(api_stack, "POST", "/orders", headers, body)

    assert_documented(document, "POST", "/orders", answer)
