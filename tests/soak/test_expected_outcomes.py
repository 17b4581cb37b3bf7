"""The tooling expects of each order what the service decides about it (orders_local/outcomes.py):
its rules, on a stack's MaxOrderTotals, so no rule or limit is written down a second time."""

import json
import os
from decimal import Decimal
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from orders_local.outcomes import stack_rules, template_rules
from orders_local.workload import PlannedOrder, plan_workload

from order_service.models.money import format_minor_units
from order_service.models.order import OrderStatus, PlaceOrderRequest
from order_service.services.order_lifecycle import place_order, process_order
from order_service.services.rules import OrderRules
from order_service.settings import ProcessOrderSettings, load_settings
from tests.fakes import InMemoryOrders, SteppingClock

# The workload's currencies (CHF among them), and one it never orders in.
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY"]


@st.composite
def max_order_totals(draw: st.DrawFn) -> dict[str, str]:
    """A stack's MaxOrderTotals: some currencies, each with a maximum around the workload's totals."""
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, unique=True))
    return {
        currency: format_minor_units(draw(st.integers(0, 70_000) | st.integers(0, 2_000_000)), currency)
        for currency in currencies
    }


def rules_process_order_runs_with(max_order_totals: str) -> OrderRules:
    """The rules process_order's handler builds from its environment."""
    environment = {"MAX_ORDER_TOTALS": max_order_totals, "ORDER_STORE": "dynamodb", "ORDERS_TABLE_NAME": "orders"}
    load_settings.cache_clear()
    try:
        with mock.patch.dict(os.environ, environment):
            return OrderRules(max_totals=load_settings(ProcessOrderSettings).max_order_totals)
    finally:
        load_settings.cache_clear()


def eur_over_100(order: PlannedOrder) -> bool:
    """An EUR order of more than 100.00 (the workload's orders are of one item)."""
    (item,) = order.body["items"]
    return bool(order.body["currency"] == "EUR") and Decimal(item["unit_price"]) * int(item["quantity"]) > 100


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), limits=max_order_totals())
def test_every_planned_order_is_expected_to_end_as_process_order_decides_it_on_the_stacks_limits(
    seed: int, limits: dict[str, str]
) -> None:
    # Given a stack's MaxOrderTotals, and the rules process_order runs with on it
    parameter = json.dumps(limits)
    service_rules = rules_process_order_runs_with(parameter)

    # When a workload is planned for that stack
    plan = plan_workload(30, seed=seed, rules=stack_rules({"MaxOrderTotals": parameter}))

    # Then each order, placed and then processed by the service, ends as the plan expects it to
    orders = InMemoryOrders()
    for planned in plan.orders:
        request = PlaceOrderRequest.model_validate(planned.body)
        placed = place_order(request, orders=orders, clock=SteppingClock(), idempotency_key=planned.key).order
        decided = process_order(placed.order_id, orders=orders, rules=service_rules, clock=SteppingClock()).order
        assert planned.final_status(cancelled=False) is decided.status, planned.body


def test_a_lower_maximum_in_the_stacks_parameter_makes_the_orders_above_it_expected_rejected() -> None:
    # Given the workload planned for the template's default limits
    defaults = {currency: str(limit) for currency, limit in template_rules().max_totals.items()}
    before = plan_workload(300)

    # When the same workload is planned for a stack whose EUR maximum is 100.00
    after = plan_workload(300, rules=stack_rules({"MaxOrderTotals": json.dumps({**defaults, "EUR": "100.00"})}))

    # Then exactly the EUR orders above 100.00 that completed are now expected rejected
    changed = [old.key for old, new in zip(before.orders, after.orders, strict=True) if old.decision != new.decision]
    assert changed == [
        order.key for order in before.orders if order.decision is OrderStatus.COMPLETED and eur_over_100(order)
    ]
    assert changed
