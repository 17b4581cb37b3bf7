"""Page tokens: where a listing of a customer's orders stopped, handed to the client as
`next_token` and taken back for the next page, for both stores.

A token is the base64url text of a small JSON object. The client may send anything back, so
a token is read strictly before it is used: exactly the shape this module writes, for the
customer asked about, with ids and timestamps within the bounds of models/bounds.py. Anything
else is InvalidPageTokenError (a 400 naming `query.next_token`), never a query the store
refuses: DynamoDB answers a start key that is not one of its own keys with a
ValidationException, and PostgreSQL cannot hold a NUL in a text parameter. Tokens already
handed out keep working: the encoding is the one the stores have always written.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from order_service.adapters.dynamodb_items import ORDER_SK, customer_partition, order_key
from order_service.models.bounds import PAGE_TOKEN_MAX_LENGTH
from order_service.models.order import Order, OrderId
from order_service.ports import InvalidPageTokenError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_NOT_ISSUED = "next_token is not a token this API issued"
_NOT_FOR_THIS_CUSTOMER = "next_token is not a token this API issued for this customer"
# base64url, padded as urlsafe_b64encode pads: the decoder alone would skip other characters.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_ORDER_ID: TypeAdapter[str] = TypeAdapter(OrderId)
_ORDER_KEY_PREFIX = "order#"


class _Document(BaseModel):
    """A token's JSON object: no other member, no value of another JSON type."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def of_token(cls, token: str) -> Self:
        if len(token) > PAGE_TOKEN_MAX_LENGTH or not _BASE64URL.fullmatch(token):
            raise InvalidPageTokenError(_NOT_ISSUED)
        try:
            # pydantic's JSON reader: bounded nesting, no NaN, UTF-8 checked, a ValidationError
            # for any of it.
            return cls.model_validate_json(base64.urlsafe_b64decode(token))
        except (binascii.Error, ValueError):  # ValidationError is a ValueError
            raise InvalidPageTokenError(_NOT_ISSUED) from None


def _encode(document: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def _order_id(text: str) -> str:
    try:
        return _ORDER_ID.validate_python(text, strict=True)
    except ValidationError:
        raise InvalidPageTokenError(_NOT_ISSUED) from None


# --- DynamoDB: the LastEvaluatedKey of the customer index, as its string values ---------------


class _CustomerIndexKey(_Document):
    PK: str
    SK: str
    GSI1PK: str
    GSI1SK: str


def dynamodb_page_token(last_evaluated_key: Mapping[str, Any]) -> str:
    """The token for the next page after a query of the customer index stopped at this key."""
    return _encode({name: value["S"] for name, value in last_evaluated_key.items()})


def dynamodb_start_key(token: str, customer_id: str) -> dict[str, "AttributeValueTypeDef"]:
    """The ExclusiveStartKey a token stands for: the key of an order of this customer, rebuilt
    from its checked parts (`order#<id>`, `order`, `customer#<id>`, `<created_at>#<id>`) and
    compared with what the token holds, so only a key DynamoDB itself could have handed out
    gets through."""
    key = _CustomerIndexKey.of_token(token)
    if customer_partition(customer_id) != key.GSI1PK:
        raise InvalidPageTokenError(_NOT_FOR_THIS_CUSTOMER)
    if not key.PK.startswith(_ORDER_KEY_PREFIX):
        raise InvalidPageTokenError(_NOT_ISSUED)
    order_id = _order_id(key.PK.removeprefix(_ORDER_KEY_PREFIX))
    created, _, sort_key_order_id = key.GSI1SK.rpartition("#")
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        raise InvalidPageTokenError(_NOT_ISSUED) from None
    # The sort key's timestamp exactly as dynamodb_items writes it, to the microsecond.
    canonical = moment.isoformat(timespec="microseconds") == created
    if not canonical or sort_key_order_id != order_id or key.SK != ORDER_SK:
        raise InvalidPageTokenError(_NOT_ISSUED)
    return {
        **order_key(order_id),
        "GSI1PK": {"S": customer_partition(customer_id)},
        "GSI1SK": {"S": f"{created}#{order_id}"},
    }


# --- PostgreSQL: the last order's customer, creation time and id ----------------------------


class _Position(_Document):
    c: str
    t: str
    o: str


def postgres_page_token(last: Order) -> str:
    """The token for the page after this order, in (created_at, order_id) descending order."""
    return _encode({"c": last.customer_id, "t": last.created_at.isoformat(), "o": last.order_id})


def postgres_position(token: str, customer_id: str) -> tuple[datetime, str]:
    """The (created_at, order_id) a token stands for: the next page starts below it."""
    position = _Position.of_token(token)
    if position.c != customer_id:
        raise InvalidPageTokenError(_NOT_FOR_THIS_CUSTOMER)
    # An ISO 8601 time with its offset, as `isoformat` writes it (pydantic would also take "0").
    try:
        created_at = datetime.fromisoformat(position.t)
    except ValueError:
        raise InvalidPageTokenError(_NOT_ISSUED) from None
    if created_at.tzinfo is None:
        raise InvalidPageTokenError(_NOT_ISSUED)
    return created_at, _order_id(position.o)
