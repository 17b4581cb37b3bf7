"""The order service's stacks, with worker processes over the Lambda Runtime API, as `orders up` runs them."""

from collections.abc import Iterator
from dataclasses import replace

import pytest
from orders_local.stack import OrderStack, OrderStackOptions

# The service's template in worker processes over DynamoDB, AWS's delays scaled: what the
# tests asking for `order_stack` assert (hangs of DynamoDB, timeouts of workers).
WORKERS_ON_DYNAMODB = OrderStackOptions(time_scale=0.02)


@pytest.fixture(scope="session")
def order_stack(orders_stack_options: OrderStackOptions, request: pytest.FixtureRequest) -> Iterator[OrderStack]:
    """The service's own template, with worker processes: the pytest plugin's session stack
    (`orders_stack`, set up by pyproject.toml's orders_* options), unless the command line made
    that one something else, when these tests get a stack of their own."""
    if orders_stack_options == WORKERS_ON_DYNAMODB:
        yield request.getfixturevalue("orders_stack")
        return
    with OrderStack(replace(WORKERS_ON_DYNAMODB, stack_name="workers")) as stack:
        yield stack


@pytest.fixture(scope="session")
def postgres_order_stack(postgres_server: str) -> Iterator[OrderStack]:
    """The service's template with the PostgreSQL store, its outbox relayed on the schedule."""
    options = OrderStackOptions(
        stack_name="workers-pg", time_scale=0.02, store="postgres", database_url=postgres_server
    )
    with OrderStack(options) as stack:
        yield stack
