"""Stacks run with worker processes over the Lambda Runtime API, as `orders up` runs them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from orders_local.local_stack import LocalStack, StackOptions

FIXTURE_TEMPLATE = Path(__file__).parent / "fixture_app" / "template.yaml"


@pytest.fixture(scope="session")
def seen_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("picky") / "seen.log"


@pytest.fixture(scope="session")
def fixture_stack(seen_log: Path) -> Iterator[LocalStack]:
    """Misbehaving functions; AWS's retry delays scaled down so a test waits seconds, not minutes."""
    options = StackOptions(
        template=FIXTURE_TEMPLATE, stack_name="fixtures", time_scale=0.1, parameters={"SeenLog": str(seen_log)}
    )
    with LocalStack(options) as stack:
        yield stack


@pytest.fixture(scope="session")
def order_stack() -> Iterator[LocalStack]:
    """The service's own template, with worker processes."""
    with LocalStack(StackOptions(stack_name="workers", time_scale=0.02)) as stack:
        yield stack


@pytest.fixture(scope="session")
def postgres_order_stack(postgres_server: str) -> Iterator[LocalStack]:
    """The service's template with the PostgreSQL store, its outbox relayed on the schedule."""
    options = StackOptions(stack_name="workers-pg", time_scale=0.02, store="postgres", database_url=postgres_server)
    with LocalStack(options) as stack:
        yield stack
