"""What the service will decide about an order the workload places, by the service's own code.

process_order decides a pending order with `OrderRules(max_totals=settings.max_order_totals)`
(handlers/process_order.py), its MAX_ORDER_TOTALS being the stack's MaxOrderTotals parameter,
and the order it decides is the one place_order stored from the request. The tooling expects
what those same calls make of the same inputs, so a rule or a limit changed in the service or
in a stack's parameters changes the expectation with it.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from samlocal.yaml_loader import load_template

from order_service.models.order import OrderStatus, PlaceOrderRequest
from order_service.services.order_lifecycle import pending_order
from order_service.services.rules import OrderRules
from order_service.settings import MaxOrderTotals
from orders_local.stack import ORDERS_TEMPLATE

_MAX_ORDER_TOTALS = TypeAdapter(MaxOrderTotals)


def _rules_of(max_order_totals: str) -> OrderRules:
    # As pydantic-settings reads a JSON-valued variable: decoded, then validated as the field.
    return OrderRules(max_totals=_MAX_ORDER_TOTALS.validate_python(json.loads(max_order_totals)))


def stack_rules(parameters: Mapping[str, str]) -> OrderRules | None:
    """The rules process_order runs with on a stack of these template parameters; None when
    MaxOrderTotals is missing, or is no limits the function would start with."""
    try:
        return _rules_of(parameters["MaxOrderTotals"])
    except (KeyError, ValueError):  # a JSONDecodeError and a pydantic ValidationError are ValueErrors
        return None


@cache
def template_rules() -> OrderRules:
    """The rules of a stack deployed with the template's default MaxOrderTotals."""
    return _rules_of(load_template(ORDERS_TEMPLATE)["Parameters"]["MaxOrderTotals"]["Default"])


def decision(body: Mapping[str, Any], idempotency_key: str, rules: OrderRules) -> OrderStatus:
    """What process_order decides about the order this body places under this Idempotency-Key:
    completed or rejected."""
    placed = pending_order(
        PlaceOrderRequest.model_validate(body), at=datetime.now(UTC), idempotency_key=idempotency_key
    )
    status, _reason = rules.decide(placed)
    return status
