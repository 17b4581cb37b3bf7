"""The pytest plugin (orders_local.pytest_plugin): its fixtures as a team's own tests get them by
installing the project, its options, its waits' failures and its fault injection."""

import textwrap
import time
import uuid

import pytest
from orders_local.pytest_plugin import OrdersFaults, OrdersResources, OrdersWait
from orders_local.stack import ORDERS_TEMPLATE
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack

from tests.builders import order_body

pytest_plugins = ["pytester"]

TEAM_TEST = """
    import uuid


    def test_my_order_is_confirmed_by_email(orders_api, orders_wait):
        email = f"team-{uuid.uuid4().hex[:8]}@example.com"
        items = [{"sku": "TEA-1", "quantity": 3, "unit_price": "4.20"}]
        placed = orders_api.request(
            "POST", "/orders", {"customer_id": "team", "customer_email": email, "currency": "EUR", "items": items}
        )
        assert placed.status == 201

        order = orders_wait.final_order(placed.body["order_id"], status="completed")
        confirmation = orders_wait.email_to(email)

        assert order["order_id"] in confirmation.subject


    def test_an_email_nobody_ordered(orders_api, orders_wait):
        orders_api.request("GET", "/orders?customer_id=team")

        orders_wait.email_to("nobody@example.com", timeout=1)
"""


def test_a_teams_test_file_runs_on_the_entry_point_alone_and_a_wait_in_vain_shows_the_functions_log(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a project of its own, with no conftest.py: only an ini file naming the template, and
    # a test file that asks for the plugin's fixtures by name
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makeini(f"[pytest]\norders_template = {ORDERS_TEMPLATE}\norders_time_scale = 0.02\n")
    pytester.makepyfile(test_my_function=textwrap.dedent(TEAM_TEST))

    # When pytest runs it, in a process of its own, as the team would
    result = pytester.runpytest_subprocess("-v", timeout=180)

    # Then the order goes through and its e-mail is found; the wait in vain fails saying what it
    # waited for, with what the functions logged during that test and no frame of the plugin
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "orders-local: *template.yaml, runner workers, store dynamodb, time scale 0.02",
            "*::test_my_order_is_confirmed_by_email PASSED*",
            "E * AssertionError: Timed out after 1 s waiting for an e-mail to nobody@example.com: "
            "SES accepted 1 e-mail(s), none to that address. *",
            "*- Captured orders-local log call -*",
            "ApiFunction | *",
        ]
    )
    assert "pytest_plugin.py" not in result.stdout.str()


def test_waiting_in_vain_for_an_email_fails_after_the_timeout_naming_the_address_and_what_ses_accepted(
    orders_wait: OrdersWait,
) -> None:
    address = f"never-{uuid.uuid4().hex[:8]}@example.com"
    started = time.monotonic()

    with pytest.raises(AssertionError) as failure:
        orders_wait.email_to(address, timeout=0.3)

    assert 0.3 <= time.monotonic() - started < 5
    message = str(failure.value)
    assert message.startswith(f"Timed out after 0.3 s waiting for an e-mail to {address}: SES accepted ")
    assert "none to that address. " in message
    assert "Still in flight: " in message or message.endswith("Nothing was in flight.")


def test_waiting_for_an_order_the_api_does_not_know_fails_with_the_apis_last_answer(orders_wait: OrdersWait) -> None:
    order_id = str(uuid.uuid4())

    with pytest.raises(AssertionError) as failure:
        orders_wait.final_order(order_id, timeout=0.5)

    assert str(failure.value).startswith(
        f"Timed out after 0.5 s waiting for order {order_id} to reach a final status: "
        f"GET /orders/{order_id} last answered 404 "
    )


def test_an_order_that_ends_in_another_status_than_awaited_fails_at_once_naming_both(
    orders_api: JsonClient, orders_wait: OrdersWait
) -> None:
    # Given an order in a currency the service does not sell in: it ends rejected
    body = order_body(currency="CHF")
    placed = orders_api.request("POST", "/orders", body)
    assert placed.status == 201
    order_id = placed.body["order_id"]

    # When a test awaits its completion
    with pytest.raises(AssertionError) as failure:
        orders_wait.final_order(order_id, status="completed")

    # Then the wait ends with the order, not at the timeout
    assert str(failure.value).startswith(f"order {order_id} ended 'rejected', not 'completed': ")
    assert orders_wait.final_order(order_id, status="rejected", timeout=1)["status"] == "rejected"
    # and the rejection's e-mail goes out, leaving nothing of this test in flight
    orders_wait.email_to(body["customer_email"])


def test_every_injected_fault_is_undone_when_it_ends_and_a_refusal_from_before_the_test_stays(
    orders_stack: LocalStack, orders_faults: OrdersFaults
) -> None:
    # Given a domain SES refused before the test, and a fault of each kind the emulator injects
    middleware = orders_stack.emulator.middleware
    middleware.rejected_domains.add("refused-before.example")
    try:
        with orders_faults.outage("events:PutEvents") as outage:
            assert "events:PutEvents" in middleware.outages
        orders_faults.hang("ses:SendEmail")
        orders_faults.stall("dynamodb:PutItem", 5.0)
        orders_faults.refuse_emails(to="refused@example.com")
        orders_faults.refuse_emails(domain="refused-before.example")
        orders_faults.error_rate(0.5, services=frozenset({"ses"}), seed=7)
        in_force = (
            middleware.hanging("ses:SendEmail"),
            len(middleware.stalls),
            "refused@example.com" in middleware.rejected_recipients,
            middleware.faults.rate,
        )

        # When they end, as orders_faults ends them after every test
        orders_faults.end_all()

        # Then the emulator is back as it was, the earlier refusal included
        assert not outage.active
        assert in_force == (True, 1, True, 0.5)
        assert "events:PutEvents" not in middleware.outages
        assert not middleware.hanging("ses:SendEmail")
        assert middleware.stalls == []
        assert "refused@example.com" not in middleware.rejected_recipients
        assert "refused-before.example" in middleware.rejected_domains
        assert middleware.faults.rate == 0.0
        assert not any(fault.active for fault in orders_faults.injected)
    finally:
        middleware.rejected_domains.discard("refused-before.example")


def test_resources_are_named_by_logical_id_and_an_unknown_one_lists_the_declared_ones(
    orders_resources: OrdersResources,
) -> None:
    assert orders_resources.table("OrdersTable").endswith("-OrdersTable")
    assert orders_resources.queue_url("NotificationQueue").endswith("-NotificationQueue")
    assert orders_resources.function("ApiFunction").endswith("-ApiFunction")
    with pytest.raises(
        LookupError, match=r"no queue 'OrderQueue' in .*template\.yaml; its queues: .*NotificationQueue"
    ):
        orders_resources.queue_url("OrderQueue")


OPTIONS_TEST = """
    from pathlib import Path


    def test_options(orders_stack_options):
        assert orders_stack_options.template == Path("{template}")
        assert orders_stack_options.runner == "in-process"
        assert orders_stack_options.store == "postgres"
        assert orders_stack_options.time_scale == 0.5
        assert orders_stack_options.database_url == "postgresql://db.invalid/orders"
        assert dict(orders_stack_options.parameters) == {{"SenderEmail": "shop@example.com", "Other": "a=b"}}
"""


def test_the_command_line_chooses_the_stack_over_the_ini_file(pytester: pytest.Pytester) -> None:
    # Given an ini file setting every option, its template relative to the ini file
    (pytester.path / "app").mkdir()
    (pytester.path / "app" / "template.yaml").write_text("")
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            orders_template = app/template.yaml
            orders_runner = workers
            orders_store = dynamodb
            orders_time_scale = 0.1
            orders_database_url = postgresql://db.invalid/orders
            orders_parameters =
                SenderEmail=ini@example.com
                Other=a=b
            """
        )
    )
    template = (pytester.path / "app" / "template.yaml").resolve()
    pytester.makepyfile(textwrap.dedent(OPTIONS_TEST.format(template=template)))

    # When the command line sets some of them again (the test only reads the options: no stack)
    result = pytester.runpytest(
        "--orders-runner=in-process",
        "--orders-store=postgres",
        "--orders-time-scale=0.5",
        "--orders-parameter=SenderEmail=shop@example.com",
    )

    # Then the command line wins where it speaks, the ini file elsewhere
    result.assert_outcomes(passed=1)


def test_an_option_value_outside_its_choices_stops_the_run_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\norders_store = mysql\n")
    pytester.makepyfile("def test_never_run(): pass")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*orders_store = 'mysql': expected one of dynamodb, postgres"])
