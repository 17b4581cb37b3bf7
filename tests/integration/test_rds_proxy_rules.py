"""What RDS Proxy accepts from a PostgreSQL client, reproduced by the local proxy in its RDS-Proxy
mode: it refuses a startup packet with command-line `options`, answers an SSLRequest itself, and
pins a session that leaves state behind its transaction (AWS's "Avoiding pinning an RDS Proxy",
PostgreSQL). The service's connections pass, keep their server-side limits, and never pin."""

import socket
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from orders_local.postgres import LocalDatabase
from samlocal.pg_proxy import OPTIONS_REFUSED, PostgresProxy

from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.migrate import DEFAULT_LOCK_TIMEOUT_MS
from order_service.adapters.postgres.orders import PostgresOrderRepository, PostgresOutbox
from order_service.models.order import Order, OrderStatus
from order_service.ports import StoreUnavailableError
from order_service.settings import DatabaseSettings
from tests.builders import a_pending_order

SSL_REQUEST = struct.pack("!II", 8, 80877103)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def an_order(customer: str = "c-rds") -> Order:
    return a_pending_order(customer_id=customer, customer_email="rds@example.com", at=T0)


def startup_message(**parameters: str) -> bytes:
    body = struct.pack("!I", 196608) + b"".join(f"{k}\0{v}\0".encode() for k, v in parameters.items()) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def error_fields(response: bytes) -> dict[str, str]:
    assert response[:1] == b"E"
    (length,) = struct.unpack_from("!I", response, 1)
    fields = response[5 : 1 + length].rstrip(b"\0").split(b"\0")
    return {field[:1].decode(): field[1:].decode() for field in fields}


def receive_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


@pytest.fixture
def rds_proxy(postgres_database: LocalDatabase) -> Iterator[PostgresProxy]:
    with PostgresProxy(postgres_database.server_host, postgres_database.server_port, rds_proxy=True) as running:
        yield running


def url_through(proxy: PostgresProxy, database: LocalDatabase) -> str:
    return f"postgresql://postgres@{proxy.host}:{proxy.port}/{database.name}"


# --- startup ----------------------------------------------------------------------------------


def test_a_startup_packet_with_options_gets_rds_proxys_fatal_error_and_is_closed(rds_proxy: PostgresProxy) -> None:
    with socket.create_connection((rds_proxy.host, rds_proxy.port), timeout=5) as raw:
        raw.sendall(startup_message(user="postgres", database="postgres", options="-c statement_timeout=1000"))
        response = receive_all(raw)

    fields = error_fields(response)
    assert (fields["S"], fields["V"], fields["C"]) == ("FATAL", "FATAL", "0A000")
    assert (
        fields["M"]
        == OPTIONS_REFUSED
        == ("Feature not supported: RDS Proxy currently doesn't support command-line options.")
    )
    assert rds_proxy.refused_startups == 1


def test_a_client_that_sends_options_cannot_connect_through_the_proxy(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy
) -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(url_through(rds_proxy, postgres_database), options="-c statement_timeout=1000")

    assert OPTIONS_REFUSED in str(refused.value)


def test_an_ssl_request_is_answered_by_the_proxy_and_libpq_goes_on_in_plaintext(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy
) -> None:
    with socket.create_connection((rds_proxy.host, rds_proxy.port), timeout=5) as raw:
        raw.sendall(SSL_REQUEST)
        answer = raw.recv(1)

    with psycopg.connect(url_through(rds_proxy, postgres_database), sslmode="prefer") as connection:
        in_plaintext = connection.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()

    assert answer == b"N"
    assert in_plaintext == (False,)


def test_the_services_connections_pass_the_proxy_and_the_server_ends_a_statement_at_its_timeout(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy
) -> None:
    database = Database(lambda: connect(url_through(rds_proxy, postgres_database), statement_timeout_ms=300))
    try:
        # When a statement outlasts the statement timeout, then the limits are read back
        with (
            pytest.raises(StoreUnavailableError, match="statement timed out") as timed_out,
            database.transaction() as connection,
        ):
            connection.execute("SELECT pg_sleep(3)")
        with database.transaction() as connection:
            limits = connection.execute(
                "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock"
            ).fetchone()
        with database.transaction() as connection:
            pass
        session = connection.execute("SHOW statement_timeout").fetchone()
    finally:
        database.close()

    # The server cancelled it (57014), not the client's watchdog; the limits hold in each
    # transaction, and nothing of them is left on the session outside one.
    cause = timed_out.value.__cause__
    assert isinstance(cause, psycopg.errors.QueryCanceled)
    assert limits == {"statement": "300ms", "lock": "225ms"}
    assert session == {"statement_timeout": "0"}


def test_the_deployed_lock_timeout_outwaits_a_migration_statement_and_ends_before_the_statement_timeout(
    postgres_database: LocalDatabase,
) -> None:
    statement_timeout_ms = DatabaseSettings().database_statement_timeout_ms

    with connect(postgres_database.url, statement_timeout_ms=statement_timeout_ms) as connection:
        lock_timeout_ms = connection.lock_timeout_ms

    assert DEFAULT_LOCK_TIMEOUT_MS < lock_timeout_ms < statement_timeout_ms


def test_a_lock_timeout_longer_than_the_statement_timeout_is_refused(postgres_database: LocalDatabase) -> None:
    with pytest.raises(ValueError, match="no longer than the statement timeout"):
        connect(postgres_database.url, statement_timeout_ms=1000, lock_timeout_ms=2000)


# --- pinning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statements", "reason"),
    [
        (["SET statement_timeout = 1000"], "a SET statement"),
        (["SET SESSION lock_timeout = 1000"], "a SET statement"),
        (["BEGIN", "SET statement_timeout = 1000", "COMMIT"], "a SET statement"),
        (["SELECT set_config('statement_timeout', '1000', false)"], "set_config outside a transaction"),
        (["SELECT pg_advisory_lock(42)", "SELECT pg_advisory_unlock(42)"], "an advisory lock outside a transaction"),
        (["SELECT pg_try_advisory_lock(42)"], "an advisory lock outside a transaction"),
        (["PREPARE one AS SELECT 1", "EXECUTE one"], "a prepared statement command"),
        (["CREATE TEMP TABLE scratch (id int)"], "a temporary object"),
        (["LISTEN somewhere"], "LISTEN"),
    ],
)
def test_session_state_pins_the_session(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy, statements: list[str], reason: str
) -> None:
    with psycopg.connect(url_through(rds_proxy, postgres_database), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)

    assert rds_proxy.pinned_sessions == 1
    assert reason in rds_proxy.pin_reasons


def test_a_named_server_side_prepared_statement_pins_the_session(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy
) -> None:
    # psycopg's default: a query run `prepare_threshold` (5) times is then prepared by name.
    with psycopg.connect(url_through(rds_proxy, postgres_database), autocommit=True) as connection:
        for value in range(6):
            connection.execute("SELECT %s::int", (value,))

    assert rds_proxy.pin_reasons == ["a named prepared statement"]


@pytest.mark.parametrize(
    "statements",
    [
        ["BEGIN", "SET LOCAL statement_timeout = 1000; SET LOCAL lock_timeout = 500", "COMMIT"],
        ["BEGIN", "SELECT set_config('statement_timeout', '1000', true)", "COMMIT"],
        ["BEGIN", "SELECT pg_try_advisory_xact_lock(42)", "COMMIT"],
        ["BEGIN ISOLATION LEVEL SERIALIZABLE", "SET TRANSACTION READ ONLY", "SELECT 1", "COMMIT"],
        ["SELECT 'SET x = 1' AS text_that_looks_like_a_set"],
    ],
)
def test_transaction_scoped_state_does_not_pin(
    postgres_database: LocalDatabase, rds_proxy: PostgresProxy, statements: list[str]
) -> None:
    with psycopg.connect(url_through(rds_proxy, postgres_database), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)

    assert rds_proxy.pinned_sessions == 0
    assert rds_proxy.pin_reasons == []


def test_the_service_never_pins_a_session(postgres_server: str) -> None:
    own = LocalDatabase(postgres_server, f"orders_pins_{uuid.uuid4().hex[:12]}")
    try:
        with PostgresProxy(own.server_host, own.server_port, rds_proxy=True) as proxy:
            database = Database(lambda: connect(url_through(proxy, own), statement_timeout_ms=2000))
            repository, outbox = PostgresOrderRepository(database), PostgresOutbox(database)
            published: list[object] = []
            # Given each kind of unit of work, each run more often than psycopg's prepare threshold
            for _ in range(7):
                order = an_order()
                repository.add(order)
                repository.get(order.order_id)
                repository.list_by_customer(order.customer_id, 10, None)
                repository.pending_before(T0 + timedelta(days=1), 10)
                repository.transition(
                    order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0
                )
                outbox.publish_pending(10, published.append)
                outbox.purge_published(datetime.now(UTC) + timedelta(days=1))
            database.close()

            # Then RDS Proxy would have pinned none of the sessions
            assert published
            assert proxy.connections == 1
            assert proxy.pin_reasons == []
            assert proxy.pinned_sessions == 0
    finally:
        own.drop()
