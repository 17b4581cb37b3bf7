"""Page tokens: each store's token reads back as the position it was made from, and any other
text a client sends is refused as InvalidPageTokenError, never passed on to a store."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_service.adapters.dynamodb_items import to_item
from order_service.adapters.page_tokens import (
    dynamodb_page_token,
    dynamodb_start_key,
    postgres_page_token,
    postgres_position,
)
from order_service.models.bounds import ID_MAX_LENGTH, PAGE_TOKEN_MAX_LENGTH
from order_service.models.order import Order
from order_service.ports import InvalidPageTokenError
from tests.builders import a_pending_order

CUSTOMER_INDEX_KEY = ("PK", "SK", "GSI1PK", "GSI1SK")
ORDER_ID = re.compile(rf"[A-Za-z0-9-]{{1,{ID_MAX_LENGTH}}}")
IDS = st.text("abcXYZ0189-", min_size=1, max_size=ID_MAX_LENGTH)
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 1, 1), timezones=st.just(UTC)) | (
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]))
)


def an_order(order_id: str, customer_id: str, created_at: datetime) -> Order:
    return a_pending_order(order_id=order_id, customer_id=customer_id, at=created_at)


def last_evaluated_key(order: Order) -> dict[str, Any]:
    """What a query of the customer index answers as LastEvaluatedKey after this order."""
    item = to_item(order)
    return {name: item[name] for name in CUSTOMER_INDEX_KEY}


def encoded(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@given(order_id=IDS, customer_id=IDS, created_at=MOMENTS)
def test_a_dynamodb_token_reads_back_as_the_key_it_was_made_from(
    order_id: str, customer_id: str, created_at: datetime
) -> None:
    key = last_evaluated_key(an_order(order_id, customer_id, created_at))

    token = dynamodb_page_token(key)

    assert dynamodb_start_key(token, customer_id) == key
    assert len(token) <= PAGE_TOKEN_MAX_LENGTH


@given(order_id=IDS, customer_id=IDS, created_at=MOMENTS)
def test_a_postgres_token_reads_back_as_the_position_it_was_made_from(
    order_id: str, customer_id: str, created_at: datetime
) -> None:
    token = postgres_page_token(an_order(order_id, customer_id, created_at))

    assert postgres_position(token, customer_id) == (created_at, order_id)
    assert len(token) <= PAGE_TOKEN_MAX_LENGTH


def test_tokens_handed_out_before_still_read() -> None:
    dynamodb = encoded(
        {"PK": "order#o-1", "SK": "order", "GSI1PK": "customer#c-1", "GSI1SK": "2026-01-01T00:00:00.000000+00:00#o-1"}
    )
    postgres = encoded({"c": "c-1", "t": "2026-01-01T00:00:00+00:00", "o": "o-1"})

    assert dynamodb_start_key(dynamodb, "c-1")["PK"] == {"S": "order#o-1"}
    assert postgres_position(postgres, "c-1") == (datetime(2026, 1, 1, tzinfo=UTC), "o-1")


HOSTILE_VALUES = st.one_of(
    st.sampled_from(["", "\x00", "a\x00", "\ud800", "x" * 3000, "order#", "customer#", "#", "order#\x00"]),
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.sampled_from(["S", "N", "L"]), st.text(max_size=5), max_size=2),
    st.text(max_size=80),
)


@st.composite
def forged_documents(draw: st.DrawFn, genuine: dict[str, Any]) -> dict[str, Any]:
    """A genuine token's document with one member changed, removed, or one added."""
    forged = dict(genuine)
    name = draw(st.sampled_from([*genuine, "extra"]))
    if name != "extra" and draw(st.booleans()):
        del forged[name]
    else:
        forged[name] = draw(HOSTILE_VALUES.filter(lambda value: value != genuine.get(name)))
    return forged


GENUINE_DYNAMODB = {
    "PK": "order#o-1",
    "SK": "order",
    "GSI1PK": "customer#c-1",
    "GSI1SK": "2026-01-01T00:00:00.000000+00:00#o-1",
}
GENUINE_POSTGRES = {"c": "c-1", "t": "2026-01-01T00:00:00+00:00", "o": "o-1"}


@settings(max_examples=150)
@given(document=forged_documents(GENUINE_DYNAMODB))
def test_a_dynamodb_token_changed_in_any_member_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(InvalidPageTokenError):
        dynamodb_start_key(encoded(document), "c-1")


@settings(max_examples=150)
@given(document=forged_documents(GENUINE_POSTGRES))
def test_a_postgres_token_changed_in_any_member_is_refused_unless_still_a_sound_position(
    document: dict[str, Any],
) -> None:
    # Another order id or another time is still a position: what matters is that the store is
    # only ever asked for a real time and an id within the bounds.
    try:
        created_at, order_id = postgres_position(encoded(document), "c-1")
    except InvalidPageTokenError:
        return
    assert created_at.tzinfo is not None
    assert ORDER_ID.fullmatch(order_id)


TOKEN_TEXT = st.one_of(
    st.text(max_size=PAGE_TOKEN_MAX_LENGTH + 50),
    st.binary(max_size=1500).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.sampled_from(["[" * 1400, "{" * 1400, "[" * 3000, "[" * 1500 + "]" * 1500]).map(
        lambda text: base64.urlsafe_b64encode(text.encode()).decode()
    ),
    st.integers(4300, 6000).map(
        lambda digits: base64.urlsafe_b64encode(b'{"c":"c-1","t":%s,"o":"o-1"}' % (b"9" * digits)).decode()
    ),
)


@settings(max_examples=150)
@given(text=TOKEN_TEXT)
def test_any_other_text_is_refused_as_a_page_token_and_nothing_else_is_raised(text: str) -> None:
    for decode in (dynamodb_start_key, postgres_position):
        with pytest.raises(InvalidPageTokenError):
            decode(text, "c-1")
