"""Stacks run with worker processes over the Lambda Runtime API, as `orders up` runs them."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from orders_local.stack import OrderStack, OrderStackOptions

FIXTURE_TEMPLATE = Path(__file__).parent / "fixture_app" / "template.yaml"
# The service's template in worker processes over DynamoDB, AWS's delays scaled: what the
# tests asking for `order_stack` assert (hangs of DynamoDB, timeouts of workers).
WORKERS_ON_DYNAMODB = OrderStackOptions(time_scale=0.02)


@pytest.fixture(scope="session")
def seen_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("picky") / "seen.log"


@pytest.fixture(scope="session")
def fixture_stack(seen_log: Path) -> Iterator[OrderStack]:
    """Misbehaving functions; AWS's retry delays scaled down so a test waits seconds, not minutes."""
    options = OrderStackOptions(
        template=FIXTURE_TEMPLATE, stack_name="fixtures", time_scale=0.1, parameters={"SeenLog": str(seen_log)}
    )
    with OrderStack(options) as stack:
        yield stack


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
