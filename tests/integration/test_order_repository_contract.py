"""The repository contract, held by both stores: DynamoDB over the emulator's protocol, and
PostgreSQL on a real server."""

import contextlib
import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from orders_local.postgres import LocalDatabase
from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.orders import PostgresOrderRepository
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.ports import (
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderNotFoundError,
    OrderRepository,
    TransitionConflictError,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def quiet_orders_table(stack: LocalStack) -> str:
    """The template's orders table, but with no stream: no pipeline acts on what these tests store."""
    (spec,) = [table for table in stack.stack.tables() if table.logical_id == "OrdersTable"]
    name = f"contract-{uuid.uuid4().hex[:8]}"
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    stack.client("dynamodb").create_table(TableName=name, **{key: spec.properties[key] for key in keys})
    return name


@pytest.fixture(params=["dynamodb", "postgres"])
def new_repository(request: pytest.FixtureRequest) -> Callable[[], OrderRepository]:
    """Makes repositories as containers would: each PostgreSQL one holds its own connection."""
    if request.param == "dynamodb":
        stack: LocalStack = request.getfixturevalue("stack")
        table = request.getfixturevalue("quiet_orders_table")
        return lambda: DynamoDbOrderRepository(stack.client("dynamodb"), table)
    database: LocalDatabase = request.getfixturevalue("postgres_database")
    return lambda: PostgresOrderRepository(Database(lambda: connect(database.url, statement_timeout_ms=5000)))


@pytest.fixture
def repository(new_repository: Callable[[], OrderRepository]) -> OrderRepository:
    return new_repository()


def an_order(customer_id: str = "c-repo", minutes: int = 0) -> Order:
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id=customer_id,
        customer_email="repo@example.com",
        currency="KWD",
        items=(LineItem(sku="A", quantity=3, unit_price_minor=1234),),
        total_minor=3702,
        status=OrderStatus.PENDING,
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
        request_fingerprint="f" * 64,
    )


def test_a_stored_order_reads_back_identical(repository: OrderRepository) -> None:
    order = an_order()

    repository.add(order)

    assert repository.get(order.order_id) == order


def test_a_second_order_with_the_same_id_is_refused(repository: OrderRepository) -> None:
    order = an_order()
    repository.add(order)

    with pytest.raises(OrderAlreadyExistsError):
        repository.add(order.model_copy(update={"total_minor": 1}))
    assert repository.get(order.order_id) == order


def test_a_guarded_transition_moves_the_status_once(repository: OrderRepository) -> None:
    order = an_order()
    repository.add(order)

    done = repository.transition(
        order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.REJECTED, reason="too big", at=T0
    )

    assert (done.status, done.reason, done.version) == (OrderStatus.REJECTED, "too big", 2)
    with pytest.raises(TransitionConflictError) as conflict:
        repository.transition(
            order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0
        )
    assert conflict.value.current == done


def test_concurrent_transitions_of_one_order_let_exactly_one_win(
    repository: OrderRepository, new_repository: Callable[[], OrderRepository]
) -> None:
    order = an_order()
    repository.add(order)
    barrier = threading.Barrier(6)
    wins: list[OrderStatus] = []

    def attempt(container: OrderRepository, target: OrderStatus) -> None:
        barrier.wait()
        with contextlib.suppress(TransitionConflictError):
            wins.append(
                container.transition(
                    order.order_id, expected=OrderStatus.PENDING, new=target, reason=None, at=T0
                ).status
            )

    targets = [OrderStatus.COMPLETED, OrderStatus.CANCELLED] * 3
    # One repository per concurrent delivery, as Lambda runs them: for PostgreSQL, one connection each.
    containers = [new_repository() for _ in targets]
    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(containers, targets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1
    stored = repository.get(order.order_id)
    assert stored is not None
    assert (stored.status, stored.version) == (wins[0], 2)


def test_transitioning_an_unknown_order_raises_not_found(repository: OrderRepository) -> None:
    with pytest.raises(OrderNotFoundError):
        repository.transition("nope", expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0)


@pytest.mark.parametrize("token", ["not-base64!", "e30=", "W10="])
def test_a_forged_page_token_is_refused(repository: OrderRepository, token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        repository.list_by_customer("c-repo", 2, token)


def test_listing_pages_through_a_customers_orders_newest_first(repository: OrderRepository) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    orders = [an_order(customer, minutes) for minutes in range(5)]
    for order in orders:
        repository.add(order)

    listed: list[str] = []
    token: str | None = None
    while True:
        page = repository.list_by_customer(customer, 2, token)
        listed.extend(order.order_id for order in page.orders)
        token = page.next_token
        if token is None:
            break

    assert listed == [order.order_id for order in reversed(orders)]


def test_a_page_token_is_refused_for_another_customer(repository: OrderRepository) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    for minutes in range(3):
        repository.add(an_order(customer, minutes))
    token = repository.list_by_customer(customer, 1, None).next_token
    assert token is not None

    with pytest.raises(InvalidPageTokenError):
        repository.list_by_customer("someone-else", 1, token)


_WINDOWS_BACK = itertools.count(1)


def an_earlier_window() -> datetime:
    """A day before every order the suite stored so far in this store, so that `pending_before`
    (which lists every older pending order) sees only the orders of the test that asked."""
    return datetime(2020, 1, 1, tzinfo=UTC) - timedelta(days=next(_WINDOWS_BACK))


def placed_at(moment: datetime) -> Order:
    return an_order().model_copy(update={"created_at": moment, "updated_at": moment})


def test_only_orders_placed_before_the_cutoff_are_listed_as_pending(repository: OrderRepository) -> None:
    window = an_earlier_window()
    before, at_cutoff, after = (placed_at(window + timedelta(minutes=m)) for m in (1, 5, 9))
    for order in (before, at_cutoff, after):
        repository.add(order)

    listed = repository.pending_before(window + timedelta(minutes=5), 10)

    assert listed.orders == (before,)


def test_pending_orders_are_listed_oldest_first_up_to_the_limit(repository: OrderRepository) -> None:
    window = an_earlier_window()
    orders = [placed_at(window + timedelta(minutes=m)) for m in (4, 0, 5, 2, 1, 3)]
    for order in orders:
        repository.add(order)

    listed = repository.pending_before(window + timedelta(hours=1), 4)

    assert [order.created_at for order in listed.orders] == [window + timedelta(minutes=m) for m in range(4)]


def test_an_order_that_left_pending_is_no_longer_listed(repository: OrderRepository) -> None:
    window = an_earlier_window()
    decided, waiting = placed_at(window), placed_at(window + timedelta(minutes=1))
    repository.add(decided)
    repository.add(waiting)

    repository.transition(decided.order_id, expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0)

    assert repository.pending_before(window + timedelta(hours=1), 10).orders == (waiting,)
