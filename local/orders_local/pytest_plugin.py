"""pytest fixtures for the order service's local stack: installing the project registers them
(entry point `pytest11`), on top of samlocal's (`samlocal.pytest_plugin`).

A test asks for `orders_stack` (or any fixture built on it) and gets one stack for the whole
session, started from the template the `orders_*` options name and stopped at the end:

    def test_my_order_is_confirmed(orders_api: JsonClient, orders_wait: OrdersWait) -> None:
        placed = orders_api.request("POST", "/orders", {...})
        orders_wait.final_order(placed.body["order_id"], status="completed")

Options (command line first, then the ini file; `pytest --help` lists them): `--orders-template`,
`--orders-runner`, `--orders-store`, `--orders-parameter NAME=VALUE`, `--orders-time-scale`,
`--orders-database-url`, `--orders-ses-sandbox`. A conftest.py may override `orders_stack_options` for anything else.

The stack is imported only when a test uses it, so that every other pytest run of a project
that installs this one starts as fast as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from samlocal.pytest_plugin import (
    DEFAULT_TIMEOUT,
    STACK_FIXTURES,
    Fault,
    SentEmails,
    StackFaults,
    StackQueues,
    StackResources,
    StackSettings,
    StackWait,
    add_stack_options,
    describe,
    setting,
    stack_settings,
)

if TYPE_CHECKING:
    from samlocal.http_client import HttpAnswer, JsonClient

    from orders_local.stack import OrderStack, OrderStackOptions, StoreKind

STORES: tuple[StoreKind, ...] = ("dynamodb", "postgres")
PREFIX = "orders"
LOG_SECTION = "orders-local log"
STACK_FIXTURES["orders_stack"] = LOG_SECTION

OrdersResources = StackResources
OrdersEmails = SentEmails
OrdersQueues = StackQueues


# --- options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings(StackSettings):
    """What the `orders_*` options chose; `None`: the order stack's own default."""

    store: StoreKind = "dynamodb"
    database_url: str | None = None

    def stack_options(self) -> OrderStackOptions:
        from orders_local.stack import OrderStackOptions

        options = OrderStackOptions(
            runner=self.runner,
            store=self.store,
            parameters=dict(self.parameters),
            time_scale=self.time_scale,
            ses_sandbox=self.ses_sandbox,
        )
        if self.template is not None:
            options.template = self.template
        if self.database_url is not None:
            options.database_url = self.database_url
        return options


_SETTINGS = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orders-local", "the order service's local stack: template.yaml run on this machine")
    add_stack_options(parser, PREFIX, group, "orders_stack")
    group.addoption("--orders-store", choices=STORES, help="where orders are stored (ini: orders_store)")
    group.addoption(
        "--orders-database-url",
        metavar="URL",
        help="PostgreSQL server to create the stack's database on, with --orders-store postgres "
        "(ini: orders_database_url; default $ORDERS_DATABASE_URL or the local server)",
    )
    parser.addini("orders_store", f"where orders are stored: {' or '.join(STORES)}", default="")
    parser.addini("orders_database_url", "PostgreSQL server for --orders-store postgres", default="")


def settings_of(config: pytest.Config) -> Settings:
    """The `orders_*` options, checked: a bad value stops the run before any test."""
    common = stack_settings(config, PREFIX)
    store = setting(config, "orders_store") or "dynamodb"
    if store not in STORES:
        raise pytest.UsageError(f"orders_store = {store!r}: expected one of {', '.join(STORES)}")
    return Settings(
        template=common.template,
        runner=common.runner,
        parameters=common.parameters,
        time_scale=common.time_scale,
        ses_sandbox=common.ses_sandbox,
        store=store,
        database_url=setting(config, "orders_database_url") or None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SETTINGS] = settings_of(config)


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[_SETTINGS]
    return f"orders-local: {describe(settings, 'the template `orders up` runs', also=f', store {settings.store}')}"


# --- helpers the fixtures hand out -------------------------------------------------------------


class OrdersFaults(StackFaults):
    """Faults injected into what the functions call (the emulator middleware, the database proxy)."""

    def __init__(self, stack: OrderStack) -> None:
        super().__init__(stack)
        self._stack: OrderStack = stack

    def stall_database(self) -> Fault:
        """The PostgreSQL proxy forwards nothing either way and closes nothing (`--orders-store postgres`)."""
        proxy = self._stack.database_proxy
        if proxy is None:
            raise RuntimeError("the stack has no PostgreSQL proxy to stall: run it with --orders-store postgres")
        proxy.stall()
        return self._fault("database stalled", proxy.resume)


class OrdersWait(StackWait):
    """Waits for a condition, and on timeout fails saying what it waited for and what was in flight."""

    def final_order(self, order_id: str, *, status: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The order as `GET /orders/{order_id}` answers it once its status is final (not pending);
        an AssertionError if `status` is given and it ended otherwise."""
        __tracebackhide__ = True
        from order_service.models.order import OrderStatus

        answers: list[HttpAnswer] = []

        def settled() -> Any:
            answer = self._api().request("GET", f"/orders/{order_id}")
            answers.append(answer)
            body = answer.body
            final = answer.status == 200 and isinstance(body, dict) and OrderStatus(body["status"]).is_final
            return body if final else None

        def last_answer() -> str:
            last = answers[-1]
            return f"GET /orders/{order_id} last answered {last.status} {json.dumps(last.body)}"

        order = self.until(
            settled, what=f"order {order_id} to reach a final status", timeout=timeout, interval=0.2, detail=last_answer
        )
        if status is not None and order["status"] != status:
            raise AssertionError(f"order {order_id} ended {order['status']!r}, not {status!r}: {json.dumps(order)}")
        return order


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def orders_stack_options(pytestconfig: pytest.Config) -> OrderStackOptions:
    """What orders_stack starts, from the orders_* options; override it in a conftest.py to set
    anything they do not (stack_name, api_port, log_file, echo_logs, ...)."""
    return pytestconfig.stash[_SETTINGS].stack_options()


@pytest.fixture(scope="session")
def orders_stack(orders_stack_options: OrderStackOptions) -> Iterator[OrderStack]:
    """The order service's local stack (orders_local.stack.OrderStack), one for the session."""
    from orders_local.stack import OrderStack

    with OrderStack(orders_stack_options) as stack:
        yield stack


@pytest.fixture
def orders_api(orders_stack: OrderStack) -> Iterator[JsonClient]:
    """A JSON client of the stack's API, signing its requests when the API requires it."""
    client = orders_stack.api_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def orders_resources(orders_stack: OrderStack) -> OrdersResources:
    """Tables, queues and functions by logical id: .table(id), .queue_url(id), .function(id)."""
    return OrdersResources(orders_stack)


@pytest.fixture(scope="session")
def orders_emails(orders_stack: OrderStack) -> OrdersEmails:
    """The e-mails SES accepted: .all(), .to(address)."""
    return OrdersEmails(orders_stack.emulator.middleware)


@pytest.fixture(scope="session")
def orders_queues(orders_stack: OrderStack, orders_resources: OrdersResources) -> OrdersQueues:
    """Queues by logical id: .depth, .messages, .dead_letters, .send, .redrive."""
    return OrdersQueues(orders_stack, orders_resources)


@pytest.fixture
def orders_faults(orders_stack: OrderStack) -> Iterator[OrdersFaults]:
    """Fault injection (.outage, .hang, .stall, .refuse_emails, .error_rate, .stall_database),
    every fault ended when the test ends."""
    faults = OrdersFaults(orders_stack)
    yield faults
    faults.end_all()


@pytest.fixture
def orders_wait(orders_stack: OrderStack, orders_emails: OrdersEmails) -> Iterator[OrdersWait]:
    """Waits with a timeout and a failure that says why: .final_order, .email_to, .idle, .until."""
    wait = OrdersWait(orders_stack, orders_emails)
    yield wait
    wait.close()
