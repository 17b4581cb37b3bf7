"""The reduced soak (`make soak` runs 2,000 orders): 200 orders under faults, on both stores,
the DynamoDB one with SES in its sandbox (as `make soak` runs it)."""

from collections.abc import Iterator

import pytest
from orders_local.soak import HUNG_SERVICES, run_soak
from orders_local.stack import OrderStack, OrderStackOptions, StoreKind


@pytest.fixture(params=["dynamodb", "postgres"])
def soak_stack(request: pytest.FixtureRequest) -> Iterator[OrderStack]:
    store: StoreKind = request.param
    options = OrderStackOptions(
        stack_name=f"soak-{store}", time_scale=0.1, store=store, ses_sandbox=store == "dynamodb"
    )
    if store == "postgres":
        options.database_url = request.getfixturevalue("postgres_server")
    with OrderStack(options) as stack:
        yield stack


@pytest.mark.soak
def test_under_faults_nothing_is_lost_or_doubled_and_no_answer_is_a_5xx(soak_stack: OrderStack) -> None:
    report = run_soak(soak_stack, orders=200, clients=8, drain_timeout=300)

    assert report.demo.problems == []
    assert report.problems == []
    assert report.demo.drained
    assert report.killed_worker is not None
    assert report.faults["ses:hang-past-timeout"] >= 1
    assert report.faults["events:outage"] == 1
    assert sum(count for kind, count in report.faults.items() if kind.endswith((":throttle", ":5xx"))) > 50
    assert report.redriven == len([o for o in report.demo.result.accepted.values() if o.failing_recipient]) > 0
    assert all(report.faults[f"{service}:hang"] > 0 for service in HUNG_SERVICES)
    assert report.faults["postgres:stall"] == (1 if soak_stack.database_proxy is not None else 0)
    # In the sandbox, what SES refused is what it refuses an unverified recipient, and only that
    refusals = {refusal.reason.split(":", 2)[1].strip() for refusal in soak_stack.emulator.middleware.refused_emails}
    sandbox_refusal = "Email address is not verified. The following identities failed the check in region US-EAST-1"
    assert refusals == (
        {sandbox_refusal}
        if soak_stack.emulator.middleware.ses_sandbox
        else {"Email address is on the suppression list"}
    )
