"""No wait on PostgreSQL is unbounded: a statement timeout, a secret that cannot be read, a
stalled connection all end as StoreUnavailableError, in time. Against the real server behind a
proxy that refuses at startup what RDS Proxy refuses (the `postgres_database` fixture's), and a
stalling TCP proxy in front of it for the stalls."""

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
from orders_local.postgres import LocalDatabase
from samlocal.local_stack import LocalStack
from samlocal.pg_proxy import PostgresProxy

from order_service.adapters import time_budget
from order_service.adapters.postgres.credentials import database_from_settings
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.orders import PostgresOrderRepository
from order_service.models.order import Order
from order_service.ports import StoreUnavailableError
from order_service.settings import ApiSettings
from tests.builders import a_pending_order

STATEMENT_TIMEOUT_MS = 1000
# Connecting (2 s), a statement (1 s), the watchdog's margin (1 s).
TIME_LIMIT_SECONDS = 4.0
# What a busy 2-core machine may add to a limit before the error is seen.
SLACK_SECONDS = 0.75
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def an_order() -> Order:
    return a_pending_order(customer_id="c-limits", customer_email="limits@example.com", at=T0)


def database_at(
    host: str, port: int, name: str, *, time_limit: float = TIME_LIMIT_SECONDS, connect_timeout: float = 2.0
) -> Database:
    return Database(
        lambda: connect(f"postgresql://postgres@{host}:{port}/{name}", statement_timeout_ms=STATEMENT_TIMEOUT_MS),
        time_limit_seconds=time_limit,
        connect_timeout_seconds=connect_timeout,
    )


@pytest.fixture
def proxy(postgres_database: LocalDatabase) -> Iterator[PostgresProxy]:
    with PostgresProxy(postgres_database.server_host, postgres_database.server_port) as running:
        yield running


@pytest.fixture
def through_proxy(proxy: PostgresProxy, postgres_database: LocalDatabase) -> Iterator[Database]:
    database = database_at(proxy.host, proxy.port, postgres_database.name)
    yield database
    database.close()


@pytest.fixture
def unstalled(postgres_database: LocalDatabase) -> Iterator[Database]:
    database = database_at(postgres_database.host, postgres_database.port, postgres_database.name)
    yield database
    database.close()


@dataclass(frozen=True)
class Context:
    seconds: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_statement_past_its_timeout_is_ended_by_the_server_and_keeps_the_connection(unstalled: Database) -> None:
    with unstalled.transaction() as connection:
        connection.execute("SELECT 1")
    backend = unstalled.backend_pid
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError, match="statement timed out"), unstalled.transaction() as connection:
        connection.execute("SELECT pg_sleep(5)")

    # Ended by the server at its statement timeout (57014), well before the watchdog's limit.
    assert time.monotonic() - started < STATEMENT_TIMEOUT_MS / 1000 + SLACK_SECONDS
    with unstalled.transaction() as connection:
        assert connection.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    assert unstalled.backend_pid == backend


def test_a_wait_for_a_lock_past_the_lock_timeout_is_a_store_error_that_keeps_the_connection(
    unstalled: Database, postgres_database: LocalDatabase
) -> None:
    repository = PostgresOrderRepository(unstalled)
    order = an_order()
    repository.add(order)
    backend = unstalled.backend_pid
    locked = threading.Event()
    release = threading.Event()

    def hold_the_table() -> None:
        with psycopg.connect(postgres_database.url) as other, other.transaction():
            other.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    try:
        assert locked.wait(5)
        # Then the lock timeout (three quarters of the statement timeout) ended the wait, not the statement timeout
        with pytest.raises(StoreUnavailableError, match="waited too long for a lock"):
            repository.get(order.order_id)
    finally:
        release.set()
        holder.join()

    assert repository.get(order.order_id) == order
    assert unstalled.backend_pid == backend


def test_a_secret_that_cannot_be_read_is_a_store_error(stack: LocalStack) -> None:
    settings = ApiSettings(
        order_store="postgres",
        database_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db",
        orders_table_name="unused",
    )
    database = database_from_settings(settings)
    stack.emulator.middleware.outages.add("secretsmanager:GetSecretValue")
    try:
        with pytest.raises(StoreUnavailableError, match="credentials could not be read"):
            PostgresOrderRepository(database).get(str(uuid.uuid4()))
    finally:
        stack.emulator.middleware.outages.discard("secretsmanager:GetSecretValue")


def test_a_stalled_connection_is_a_store_error_within_its_time_limit(
    through_proxy: Database, proxy: PostgresProxy
) -> None:
    repository = PostgresOrderRepository(through_proxy)
    repository.get(str(uuid.uuid4()))  # connected
    proxy.stall()
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError, match="did not answer in time"):
        repository.get(str(uuid.uuid4()))

    assert time.monotonic() - started < TIME_LIMIT_SECONDS + SLACK_SECONDS


def test_once_a_stall_ends_the_next_call_reconnects_and_succeeds(through_proxy: Database, proxy: PostgresProxy) -> None:
    repository = PostgresOrderRepository(through_proxy)
    order = an_order()
    repository.add(order)
    proxy.stall()
    with pytest.raises(StoreUnavailableError):
        repository.get(order.order_id)

    proxy.resume()

    assert repository.get(order.order_id) == order
    assert through_proxy.reconnects == 2


def test_connecting_through_a_stalled_network_is_a_store_error_within_the_connect_timeout(
    through_proxy: Database, proxy: PostgresProxy
) -> None:
    proxy.stall()
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        PostgresOrderRepository(through_proxy).get(str(uuid.uuid4()))

    assert time.monotonic() - started < 2 + SLACK_SECONDS


def test_a_stalled_transaction_ends_by_the_invocations_deadline_when_that_comes_first(
    through_proxy: Database, proxy: PostgresProxy
) -> None:
    repository = PostgresOrderRepository(through_proxy)
    repository.get(str(uuid.uuid4()))
    proxy.stall()
    time_budget.start(Context(seconds=time_budget.RESERVE_SECONDS + 1.5))  # 1.5 s usable, less than the 4 s limit
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailableError):
            repository.get(str(uuid.uuid4()))
    finally:
        time_budget.end()

    assert time.monotonic() - started < 1.5 + SLACK_SECONDS


def test_a_transaction_that_ended_in_time_is_never_cut_by_its_watchdog(postgres_database: LocalDatabase) -> None:
    # A short limit, and a connection to the local server allowed to start within it (it takes milliseconds).
    database = database_at(
        postgres_database.host, postgres_database.port, postgres_database.name, time_limit=0.3, connect_timeout=0.1
    )
    repository = PostgresOrderRepository(database)
    repository.get(str(uuid.uuid4()))
    backend = database.backend_pid

    time.sleep(0.6)  # past the limit of the transaction that just ended
    repository.get(str(uuid.uuid4()))

    assert database.backend_pid == backend
    assert database.reconnects == 1
    database.close()


def test_connections_detect_a_silent_peer_with_keepalives_and_a_tcp_user_timeout(unstalled: Database) -> None:
    with unstalled.transaction() as connection:
        probe = socket.socket(fileno=os.dup(connection.fileno()))
    with probe:
        keepalive = probe.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        idle = probe.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
        user_timeout_ms = probe.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)

    assert keepalive == 1
    assert idle == 5
    assert user_timeout_ms == STATEMENT_TIMEOUT_MS + 1000
