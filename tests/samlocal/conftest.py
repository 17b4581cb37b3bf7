"""The engine's stacks: misbehaving functions of a template of the tests' own (fixture_app/)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from orders_local.stack import OrderStack, OrderStackOptions

FIXTURE_TEMPLATE = Path(__file__).parent / "fixture_app" / "template.yaml"


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
