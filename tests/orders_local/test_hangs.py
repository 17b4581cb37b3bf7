"""Dependencies that hang: the emulator's hangs, the stalling PostgreSQL proxy, and what the
API answers over them, run in worker processes with the template's timeouts."""

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from orders_local.stack import OrderStack
from samlocal.emulator import Emulator
from samlocal.http_client import HttpAnswer
from samlocal.local_stack import LocalStack
from samlocal.pg_proxy import PostgresProxy
from samlocal.provision import aws_client

from tests.builders import order_body


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    yield running
    running.stop()


def function_client(emulator: Emulator, *, read_timeout: float) -> Any:
    """A client as the functions have one (not the local stack's own), trying once."""
    return boto3.client(
        "dynamodb",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=1
        ),
    )


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# --- the emulator's hangs ---------------------------------------------------------------------


def test_a_hung_call_is_never_answered_nor_forwarded(emulator: Emulator) -> None:
    emulator.middleware.hang("dynamodb", 30)
    started = time.monotonic()

    with pytest.raises(ReadTimeoutError):
        create_table(function_client(emulator, read_timeout=0.5), "never-created")

    assert time.monotonic() - started < 2
    assert emulator.middleware.hung["dynamodb"] == 1
    assert "never-created" not in aws_client("dynamodb", emulator.endpoint_url).list_tables()["TableNames"]


def test_when_a_hang_ends_the_calls_it_held_are_dropped_and_the_next_one_is_answered(emulator: Emulator) -> None:
    emulator.middleware.hang("dynamodb", 30)
    client = function_client(emulator, read_timeout=20)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.list_tables()
        except BaseException as error:  # the outcome under test
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)
    emulator.middleware.end_hang("dynamodb")
    caller.join(timeout=5)

    assert [type(error) for error in outcome] == [ConnectionClosedError]
    assert "TableNames" in client.list_tables()


def test_a_hang_armed_for_the_next_call_starts_with_it(emulator: Emulator) -> None:
    emulator.middleware.hang("dynamodb", 1.0, from_next_call=True)
    time.sleep(1.5)  # longer than the hang: it has not started yet
    client = function_client(emulator, read_timeout=2)

    with pytest.raises(ConnectionClosedError):  # held, then dropped when its second is over
        client.list_tables()

    assert emulator.middleware.hung["dynamodb"] == 1
    assert "TableNames" in client.list_tables()


def test_a_hang_of_one_operation_leaves_the_others_answering(emulator: Emulator) -> None:
    emulator.middleware.hang("dynamodb:PutItem", 30)

    assert "TableNames" in function_client(emulator, read_timeout=0.5).list_tables()


def test_the_local_stacks_own_calls_are_never_hung(emulator: Emulator) -> None:
    emulator.middleware.hang("dynamodb", 30)

    assert "TableNames" in aws_client("dynamodb", emulator.endpoint_url).list_tables()


# --- the stalling PostgreSQL proxy ------------------------------------------------------------


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[PostgresProxy]:
    params = psycopg.conninfo.conninfo_to_dict(postgres_server)
    with PostgresProxy(str(params.get("host", "127.0.0.1")), int(str(params.get("port", 5432)))) as running:
        yield running


def test_a_stalled_proxy_forwards_nothing_and_closes_nothing_until_it_resumes(proxy: PostgresProxy) -> None:
    with psycopg.connect(host=proxy.host, port=proxy.port, user="postgres", dbname="postgres") as connection:
        proxy.stall()
        answers: list[Any] = []
        query = threading.Thread(target=lambda: answers.append(connection.execute("SELECT 42").fetchone()))
        query.start()
        query.join(timeout=1.0)
        stalled_answers = list(answers)

        proxy.resume()
        query.join(timeout=5)

    assert stalled_answers == []
    assert answers == [(42,)]


def test_a_new_connection_to_a_stalled_proxy_is_accepted_and_stalled_too(proxy: PostgresProxy) -> None:
    proxy.stall()
    with socket.create_connection((proxy.host, proxy.port), timeout=1) as raw:
        # An SSLRequest: the server answers it with one byte, 'S' or 'N'.
        raw.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
        with pytest.raises(TimeoutError):
            raw.recv(1)
        proxy.resume()
        raw.settimeout(5)

        assert raw.recv(1) in (b"S", b"N")


# --- the API over a hanging dependency (worker processes) -------------------------------------


def place(stack: LocalStack, key: str) -> HttpAnswer:
    return stack.api_client().request("POST", "/orders", order_body(), {"Idempotency-Key": key})


def read(stack: LocalStack, order_id: str) -> HttpAnswer:
    return stack.api_client().request("GET", f"/orders/{order_id}")


@pytest.fixture
def dynamodb_hangs(order_stack: LocalStack) -> Iterator[LocalStack]:
    order_stack.emulator.middleware.hang("dynamodb", 120)
    yield order_stack
    order_stack.emulator.middleware.end_hang("dynamodb")


@pytest.fixture
def postgres_stalls(postgres_order_stack: OrderStack) -> Iterator[OrderStack]:
    proxy = postgres_order_stack.database_proxy
    assert proxy is not None
    proxy.stall()
    yield postgres_order_stack
    proxy.resume()


def assert_unavailable_in_time(stack: LocalStack, answer: HttpAnswer, timeouts_before: int) -> None:
    timeout_ms = stack.functions["ApiFunction"].timeout_seconds * 1000
    assert answer.status == 503, answer.body
    assert answer.headers.get("Retry-After") == "1"
    assert answer.latency_ms < timeout_ms
    assert stack.runner.stats()["ApiFunction"].timeouts == timeouts_before


@pytest.mark.parametrize("store", ["dynamodb", "postgres"])
def test_over_a_hung_store_placing_an_order_answers_503_with_retry_after_before_the_timeout(
    store: str, request: pytest.FixtureRequest
) -> None:
    stack: LocalStack = request.getfixturevalue("dynamodb_hangs" if store == "dynamodb" else "postgres_stalls")
    timeouts = stack.runner.stats()["ApiFunction"].timeouts

    answer = place(stack, str(uuid.uuid4()))

    assert_unavailable_in_time(stack, answer, timeouts)


@pytest.mark.parametrize("store", ["dynamodb", "postgres"])
def test_over_a_hung_store_reading_an_order_answers_503_with_retry_after_before_the_timeout(
    store: str, request: pytest.FixtureRequest
) -> None:
    stack: LocalStack = request.getfixturevalue("order_stack" if store == "dynamodb" else "postgres_order_stack")
    placed = place(stack, str(uuid.uuid4()))
    assert placed.status == 201
    request.getfixturevalue("dynamodb_hangs" if store == "dynamodb" else "postgres_stalls")
    timeouts = stack.runner.stats()["ApiFunction"].timeouts

    answer = read(stack, placed.body["order_id"])

    assert_unavailable_in_time(stack, answer, timeouts)


def test_once_dynamodb_answers_again_the_same_request_succeeds(order_stack: LocalStack) -> None:
    key = str(uuid.uuid4())
    order_stack.emulator.middleware.hang("dynamodb", 120)
    try:
        refused = place(order_stack, key)
    finally:
        order_stack.emulator.middleware.end_hang("dynamodb")

    again = place(order_stack, key)

    assert refused.status == 503
    assert again.status == 201
    assert read(order_stack, again.body["order_id"]).status == 200


def test_once_postgres_answers_again_the_same_request_succeeds(postgres_order_stack: OrderStack) -> None:
    proxy = postgres_order_stack.database_proxy
    assert proxy is not None
    key = str(uuid.uuid4())
    proxy.stall()
    try:
        refused = place(postgres_order_stack, key)
    finally:
        proxy.resume()

    again = place(postgres_order_stack, key)

    assert refused.status == 503
    assert again.status == 201
    assert read(postgres_order_stack, again.body["order_id"]).status == 200
