"""The engine's stacks: misbehaving functions of a template of the tests' own (fixture_app/)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from samlocal.local_stack import LocalStack, StackOptions

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
